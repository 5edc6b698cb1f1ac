/** BuildKit's `Node.Dump()` text format, used by its golden parser tests. */
import type { Node } from './types.ts'

const PRINTABLE = /^[\p{L}\p{M}\p{N}\p{P}\p{S}]$/u
const SIMPLE_ESCAPES: Record<string, string> = {
  '\x07': '\\a',
  '\b': '\\b',
  '\f': '\\f',
  '\n': '\\n',
  '\r': '\\r',
  '\t': '\\t',
  '\v': '\\v',
  '"': '\\"',
  '\\': '\\\\',
}

/** Go's `strconv.Quote`. */
export function goQuote(s: string): string {
  let out = '"'
  for (const ch of s) {
    const simple = SIMPLE_ESCAPES[ch]
    if (simple !== undefined) out += simple
    else if (ch === ' ' || PRINTABLE.test(ch)) out += ch
    else {
      const cp = ch.codePointAt(0) ?? 0
      if (cp < 0x80) out += `\\x${cp.toString(16).padStart(2, '0')}`
      else if (cp < 0x10000) out += `\\u${cp.toString(16).padStart(4, '0')}`
      else out += `\\U${cp.toString(16).padStart(8, '0')}`
    }
  }
  return `${out}"`
}

/** One instruction, e.g. `copy ["--from=build"] "a" "/b"` or `onbuild (run "make")`. */
export function dump(node: Node): string {
  let out = node.value.toLowerCase()
  if (node.flags.length > 0) out += ` [${node.flags.map(goQuote).join(' ')}]`
  if (node.subCommand) out += ` (${dump(node.subCommand)})`
  else for (const arg of node.args) out += ` ${goQuote(arg)}`
  return out.trim()
}

/** A whole file, one parenthesised instruction a line (the conformance `result` files, minus the last newline). */
export const dumpAll = (nodes: readonly Node[]): string => nodes.map((n) => `(${dump(n)})`).join('\n')

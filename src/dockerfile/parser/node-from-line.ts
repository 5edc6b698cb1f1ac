/** Builds one AST node from a joined instruction line (BuildKit's newNodeFromLine and dispatch table). */
import {
  type LineArgs,
  parseHealthConfig,
  parseMaybeJSON,
  parseMaybeJSONToList,
  parseNameOrNameVal,
  parseNameVal,
  parseString,
  parseStringsWhitespaceDelimited,
} from './line-parsers.ts'
import { splitCommand } from './split-command.ts'
import type { Node } from './types.ts'

type LineParser = (rest: string, escapeToken: string) => LineArgs

const DISPATCH: Record<string, LineParser> = {
  add: parseMaybeJSONToList,
  arg: parseNameOrNameVal,
  cmd: parseMaybeJSON,
  copy: parseMaybeJSONToList,
  entrypoint: parseMaybeJSON,
  env: (rest, esc) => parseNameVal(rest, 'ENV', esc),
  expose: parseStringsWhitespaceDelimited,
  from: parseStringsWhitespaceDelimited,
  healthcheck: parseHealthConfig,
  label: (rest, esc) => parseNameVal(rest, 'LABEL', esc),
  maintainer: parseString,
  run: parseMaybeJSON,
  shell: parseMaybeJSON,
  stopsignal: parseString,
  user: parseString,
  volume: parseMaybeJSONToList,
  workdir: parseString,
}

/** Instructions the parser knows (ONBUILD included). Others are kept with a single empty argument. */
export const KNOWN_INSTRUCTIONS: ReadonlySet<string> = new Set([...Object.keys(DISPATCH), 'onbuild'])

/** Throws InvalidArgumentError (no location) on bad arguments; the caller adds the lines. */
export function nodeFromLine(line: string, escapeToken: string): Node {
  const { cmd, flags, args: rest } = splitCommand(line, escapeToken)
  const key = cmd.toLowerCase()
  const node: Node = { value: cmd, original: line, flags, args: [], json: false, heredocs: [], startLine: 0, endLine: 0 }
  if (key === 'onbuild') {
    if (rest !== '') {
      const sub = nodeFromLine(rest, escapeToken)
      node.subCommand = sub
      node.args = [sub.value, ...sub.args]
    }
    return node
  }
  const parser = DISPATCH[key]
  if (parser === undefined) {
    // BuildKit's parseIgnore: the instruction stays in the AST with one empty argument
    node.args = ['']
    return node
  }
  const parsed = parser(rest, escapeToken)
  node.args = parsed.args
  node.json = parsed.json
  return node
}

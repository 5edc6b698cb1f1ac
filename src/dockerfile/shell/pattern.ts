/**
 * Shell wildcard patterns for `${var#pat}`, `${var%pat}` and `${var/pat/repl}`: `?` is one character, `*` any
 * run (shortest or longest), `\` escapes `*`, `?` and `\`; `\}` and `\/` stand for the literal characters.
 * Bracket expressions are not supported (neither does BuildKit).
 */
import { ShellError } from './errors.ts'

const REGEX_SPECIAL = new Set(['[', ']', '{', '}', '.', '+', '(', ')', '|', '^', '$'])

export function shellPatternToRegExp(pattern: string, greedy: boolean, anchored: boolean, flags = 'u'): RegExp {
  const cps = Array.from(pattern)
  let out = anchored ? '^' : ''
  const star = greedy ? '[^\\n]*' : '[^\\n]*?'
  for (let i = 0; i < cps.length; i++) {
    let tok = cps[i] as string
    if (tok === '*') {
      out += star
      continue
    }
    if (tok === '?') {
      out += '[^\\n]'
      continue
    }
    if (tok === '\\') {
      const peek = cps[i + 1]
      if (peek === '}' || peek === '/') continue
      i++
      tok = cps[i] ?? ''
      if (tok !== '*' && tok !== '?' && tok !== '\\') {
        throw new ShellError(`invalid escape '\\${tok}'`)
      }
      out += `\\${tok}`
      continue
    }
    out += REGEX_SPECIAL.has(tok) ? `\\${tok}` : tok
  }
  return new RegExp(out, flags)
}

function compile(pattern: string, greedy: boolean, anchored: boolean, flags?: string): RegExp {
  try {
    return shellPatternToRegExp(pattern, greedy, anchored, flags)
  } catch (err) {
    throw new ShellError(`invalid pattern (${pattern}) in substitution: ${(err as Error).message}`)
  }
}

/** `${value#pattern}` (`greedy` for `##`). */
export function trimPrefixPattern(pattern: string, value: string, greedy: boolean): string {
  const m = compile(pattern, greedy, true).exec(value)
  return m ? value.slice(m.index + m[0].length) : value
}

/** Reverses a pattern keeping escapes in front of the character they escape (`a\*c` → `c\*a`). */
export function reversePattern(pattern: string): string {
  const cps = Array.from(pattern)
  const out: string[] = new Array(cps.length)
  const last = cps.length - 1
  for (let i = 0; i <= last; ) {
    const tok = cps[i] as string
    const o = last - i
    if (tok === '\\' && i !== last) {
      out[o - 1] = tok
      out[o] = cps[i + 1] as string
      i += 2
    } else {
      out[o] = tok
      i++
    }
  }
  return out.join('')
}

const reverseString = (s: string): string => Array.from(s).reverse().join('')

/** `${value%pattern}` (`greedy` for `%%`): the rightmost match, found by reversing both sides. */
export function trimSuffixPattern(pattern: string, value: string, greedy: boolean): string {
  return reverseString(trimPrefixPattern(reversePattern(pattern), reverseString(value), greedy))
}

/** `${value/pattern/replacement}` and `${value//pattern/replacement}` (the replacement is literal). */
export function replacePattern(value: string, pattern: string, replacement: string, all: boolean): string {
  const re = compile(pattern, true, false, all ? 'gu' : 'u')
  return value.replace(re, () => replacement)
}

/**
 * Per-instruction argument parsers (BuildKit's dispatch table in parser.go / line_parsers.go). Each turns the
 * text after the instruction and its flags into BuildKit's "Next chain" (here: a string array) and says
 * whether it was JSON. Quotes are kept here; they are removed later by the shell lexer.
 */
import { InvalidArgumentError } from '../../core/errors.ts'
import { isSpace, trimLeftSpace } from '../shell/chars.ts'
import { goSplit, WHITESPACE } from './go-split.ts'

export interface LineArgs {
  args: string[]
  json: boolean
}

const NONE: LineArgs = { args: [], json: false }

export const ERR_NOT_STRING_ARRAY = 'when using JSON array syntax, arrays must be comprised of strings only'

/** Splits on unquoted whitespace; quotes and escapes stay in the words (BuildKit's parseWords). */
export function parseWords(rest: string, escapeToken: string): string[] {
  const cps = Array.from(rest)
  const words: string[] = []
  let inSpaces = true
  let inQuote = false
  let quote = ''
  let blankOK = false
  let word = ''
  for (let pos = 0; pos <= cps.length; pos++) {
    const atEnd = pos === cps.length
    let ch = cps[pos] ?? ''
    if (inSpaces) {
      if (atEnd) break
      if (isSpace(ch)) continue
      inSpaces = false
    }
    if (atEnd) {
      if (blankOK || word.length > 0) words.push(word)
      break
    }
    if (!inQuote) {
      if (isSpace(ch)) {
        inSpaces = true
        if (blankOK || word.length > 0) words.push(word)
        word = ''
        blankOK = false
        continue
      }
      if (ch === "'" || ch === '"') {
        quote = ch
        blankOK = true
        inQuote = true
      }
      if (ch === escapeToken) {
        if (pos + 1 === cps.length) continue // a trailing escape is dropped
        // unquoted: keep the escape and the escaped character (even a quote)
        word += ch
        pos++
        ch = cps[pos] as string
      }
      word += ch
      continue
    }
    if (ch === quote) inQuote = false
    if (ch === escapeToken && quote !== "'") {
      if (pos + 1 === cps.length) {
        inQuote = false
        continue
      }
      pos++
      word += ch
      ch = cps[pos] as string
    }
    word += ch
  }
  return words
}

/** ENV and LABEL: `k=v ...` (quotes kept) or the legacy `k v` form. Triples of key, value, separator. */
export function parseNameVal(rest: string, instruction: string, escapeToken: string): LineArgs {
  const words = parseWords(rest, escapeToken)
  if (words.length === 0) return NONE
  if (!(words[0] as string).includes('=')) {
    const parts = goSplit(WHITESPACE, rest, 2)
    if (parts.length < 2) {
      throw new InvalidArgumentError(`${instruction} must have two arguments`, {
        hint: `write ${instruction} <key>=<value>`,
      })
    }
    return { args: [parts[0] as string, parts[1] as string, ''], json: false }
  }
  const args: string[] = []
  for (const word of words) {
    const eq = word.indexOf('=')
    if (eq < 0) {
      throw new InvalidArgumentError(
        `Syntax error - can't find = in ${JSON.stringify(word)}. Must be of the form: name=value`,
        { hint: 'quote values that contain spaces: key="a value"' },
      )
    }
    args.push(word.slice(0, eq), word.slice(eq + 1), '=')
  }
  return { args, json: false }
}

/** ARG: words, each `name` or `name=value`. */
export const parseNameOrNameVal = (rest: string, escapeToken: string): LineArgs => ({
  args: parseWords(rest, escapeToken),
  json: false,
})

/** FROM, EXPOSE: split on whitespace, nothing else. */
export function parseStringsWhitespaceDelimited(rest: string): LineArgs {
  if (rest === '') return NONE
  return { args: goSplit(WHITESPACE, rest, -1), json: false }
}

/** MAINTAINER, USER, WORKDIR, STOPSIGNAL: the whole rest as one argument. */
export const parseString = (rest: string): LineArgs => (rest === '' ? NONE : { args: [rest], json: false })

/**
 * A JSON array of strings. Returns undefined when `rest` is not JSON (so callers can fall back to the shell
 * form); throws when it is a JSON array holding something other than strings.
 */
export function parseJSON(rest: string): LineArgs | undefined {
  const trimmed = trimLeftSpace(rest)
  if (!trimmed.startsWith('[')) return undefined
  let value: unknown
  try {
    value = JSON.parse(trimmed)
  } catch {
    return undefined
  }
  if (!Array.isArray(value)) return undefined
  const args: string[] = []
  for (const item of value) {
    if (typeof item !== 'string') {
      throw new InvalidArgumentError(ERR_NOT_STRING_ARRAY, { hint: 'write every element as a "string"' })
    }
    args.push(item)
  }
  return { args, json: true }
}

/** RUN, CMD, ENTRYPOINT, SHELL: a JSON array, else the whole rest as one shell-form argument. */
export function parseMaybeJSON(rest: string): LineArgs {
  if (rest === '') return NONE
  return parseJSON(rest) ?? { args: [rest], json: false }
}

/** COPY, ADD, VOLUME: a JSON array, else whitespace-separated words. */
export function parseMaybeJSONToList(rest: string): LineArgs {
  return parseJSON(rest) ?? parseStringsWhitespaceDelimited(rest)
}

/** HEALTHCHECK: a type word (CMD, NONE, ...) followed by a parseMaybeJSON command. */
export function parseHealthConfig(rest: string): LineArgs {
  let sep = 0
  while (sep < rest.length && !isSpace(rest[sep] as string)) sep++
  let next = sep
  while (next < rest.length && isSpace(rest[next] as string)) next++
  if (sep === 0) return NONE
  const cmd = parseMaybeJSON(rest.slice(next))
  return { args: [rest.slice(0, sep), ...cmd.args], json: cmd.json }
}

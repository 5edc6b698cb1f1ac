/** Heredoc markers on an instruction line (`<<EOF`, `<<-"EOF"`, `3<<EOF`), BuildKit's rules. */
import { emptyEnv } from '../shell/env.ts'
import { ShellLex } from '../shell/lex.ts'
import type { Heredoc } from './types.ts'

const HEREDOC = /^(\d*)<<(-?)[\t\n\f\r ]*([^<]*)$/

const quoteCount = (s: string): number => s.split("'").length - 1 + s.split('"').length - 1

/**
 * Parses one word as a heredoc marker; undefined when it is not one. The delimiter's quotes are removed;
 * when any part of it was quoted the body is not expanded. Throws a ShellError on a malformed delimiter.
 */
export function parseHeredoc(word: string): Omit<Heredoc, 'content'> | undefined {
  const m = HEREDOC.exec(word)
  if (!m) return undefined
  const rest = m[3] as string
  if (rest === '') return undefined
  const lex = new ShellLex('\\', { skipUnsetEnv: true })
  const words = lex.processWords(rest, emptyEnv, { rawQuotes: false }).words
  if (words.length !== 1) return undefined
  const raw = lex.processWords(rest, emptyEnv, { rawQuotes: true }).words
  const name = words[0] as string
  const fd = Number.parseInt(m[1] as string, 10)
  return {
    name,
    fileDescriptor: Number.isSafeInteger(fd) && fd <= 0xffffffff ? fd : 0,
    expand: quoteCount(name) === quoteCount(raw[0] ?? ''),
    chomp: m[2] === '-',
  }
}

/** Like parseHeredoc but a malformed delimiter counts as "not a heredoc". */
export function tryParseHeredoc(word: string): Omit<Heredoc, 'content'> | undefined {
  try {
    return parseHeredoc(word)
  } catch {
    return undefined
  }
}

/** All heredoc markers on a (joined) instruction line, in order. */
export function heredocsFromLine(line: string): Omit<Heredoc, 'content'>[] {
  const lex = new ShellLex('\\', { rawQuotes: true, rawEscapes: true, skipUnsetEnv: true })
  let words: string[]
  try {
    words = lex.processWords(line, emptyEnv).words
  } catch {
    words = []
  }
  const docs: Omit<Heredoc, 'content'>[] = []
  for (const word of words) {
    const doc = parseHeredoc(word)
    if (doc) docs.push(doc)
  }
  return docs
}

/** `<<-` bodies: strips leading tabs from every line. */
export const chompHeredocContent = (content: string): string => content.replace(/^\t+/gm, '')

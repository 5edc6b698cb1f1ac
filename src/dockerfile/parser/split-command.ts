/**
 * Splits a logical line into instruction, leading `--flags` and the rest (BuildKit's splitCommand and
 * extractBuilderFlags). Flag words are unquoted and unescaped here; `--` ends the flags.
 */
import { isSpace, trimSpace } from '../shell/chars.ts'
import { goSplit, WHITESPACE } from './go-split.ts'

export interface SplitCommand {
  cmd: string
  flags: string[]
  args: string
}

export function splitCommand(line: string, escapeToken: string): SplitCommand {
  const parts = goSplit(WHITESPACE, trimSpace(line), 2)
  let args = ''
  let flags: string[] = []
  if (parts.length === 2) {
    ;({ rest: args, flags } = extractBuilderFlags(parts[1] as string, escapeToken))
  }
  return { cmd: parts[0] ?? '', flags, args: trimSpace(args) }
}

const IN_SPACES = 0
const IN_WORD = 1
const IN_QUOTE = 2

export function extractBuilderFlags(line: string, escapeToken: string): { rest: string; flags: string[] } {
  const cps = Array.from(line)
  const offsets: number[] = []
  let off = 0
  for (const ch of cps) {
    offsets.push(off)
    off += ch.length
  }
  offsets.push(off)
  const flags: string[] = []
  let phase = IN_SPACES
  let word = ''
  let quote = ''
  let blankOK = false
  for (let pos = 0; pos <= cps.length; pos++) {
    let ch = cps[pos] ?? ''
    const atEnd = pos === cps.length
    if (phase === IN_SPACES) {
      if (atEnd) break
      if (isSpace(ch)) continue
      // only keep going if the next word starts with --
      if (ch !== '-' || pos + 1 === cps.length || cps[pos + 1] !== '-') {
        return { rest: line.slice(offsets[pos]), flags }
      }
      phase = IN_WORD
    }
    if (atEnd) {
      if (word !== '--' && (blankOK || word.length > 0)) flags.push(word)
      break
    }
    if (phase === IN_WORD) {
      if (isSpace(ch)) {
        phase = IN_SPACES
        if (word === '--') return { rest: line.slice(offsets[pos]), flags }
        if (blankOK || word.length > 0) flags.push(word)
        word = ''
        blankOK = false
        continue
      }
      if (ch === "'" || ch === '"') {
        quote = ch
        blankOK = true
        phase = IN_QUOTE
        continue
      }
      if (ch === escapeToken) {
        if (pos + 1 === cps.length) continue // a trailing escape is dropped
        pos++
        ch = cps[pos] as string
      }
      word += ch
      continue
    }
    // IN_QUOTE
    if (ch === quote) {
      phase = IN_WORD
      continue
    }
    if (ch === escapeToken) {
      if (pos + 1 === cps.length) {
        phase = IN_WORD
        continue
      }
      pos++
      ch = cps[pos] as string
    }
    word += ch
  }
  return { rest: '', flags }
}

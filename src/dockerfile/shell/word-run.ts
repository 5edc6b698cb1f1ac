/** One expansion run over one word: BuildKit's shellWord (quotes, escapes, `$` expansions). */
import { isDigit, isLetter } from './chars.ts'
import type { EnvGetter } from './env.ts'
import { ShellError } from './errors.ts'
import type { ShellLexOptions } from './lex.ts'
import { replacePattern, trimPrefixPattern, trimSuffixPattern } from './pattern.ts'
import { WordsBuilder } from './words.ts'

const EOF = ''

const isSpecialParam = (ch: string): boolean => '@*#?-$!0'.includes(ch) && ch.length === 1

const isHeredocSpace = (ch: string): boolean => ch === '\t' || ch === '\r' || ch === ' '

class Scanner {
  private readonly cps: string[]
  private pos = 0
  constructor(text: string) {
    this.cps = Array.from(text)
  }
  peek(): string {
    return this.cps[this.pos] ?? EOF
  }
  next(): string {
    const ch = this.cps[this.pos] ?? EOF
    if (ch !== EOF) this.pos++
    return ch
  }
}

/** One run over one word; holds the scanner and the variables seen. */
export class WordRun {
  readonly matched = new Set<string>()
  readonly unmatched = new Set<string>()
  private readonly sc: Scanner
  private rawEscapes: boolean

  constructor(
    text: string,
    private readonly env: EnvGetter,
    private readonly escapeToken: string,
    private readonly opts: Required<ShellLexOptions>,
  ) {
    this.sc = new Scanner(text)
    this.rawEscapes = opts.rawEscapes
  }

  run(): { word: string; words: string[] } {
    return this.processStopOn(EOF, this.opts.rawEscapes)
  }

  private getEnv(name: string): string | undefined {
    const v = this.env.get(name)
    if (v === undefined) this.unmatched.add(name)
    else this.matched.add(name)
    return v
  }

  private processStopOn(stop: string, rawEscapes: boolean): { word: string; words: string[] } {
    const sc = this.sc
    let result = ''
    const words = new WordsBuilder()
    const saved = this.rawEscapes
    this.rawEscapes = rawEscapes
    try {
      while (sc.peek() !== EOF) {
        const ch = sc.peek()
        if (stop !== EOF && ch === stop) {
          sc.next()
          return { word: result, words: words.finish() }
        }
        let special: (() => string) | undefined
        if (ch === '$') special = () => this.processDollar()
        else if (ch === '<') special = () => this.processPossibleHeredoc()
        else if (!this.opts.skipProcessQuotes && ch === "'") special = () => this.processSingleQuote()
        else if (!this.opts.skipProcessQuotes && ch === '"') special = () => this.processDoubleQuote()
        if (special) {
          const tmp = special()
          result += tmp
          if (ch === '$') words.addString(tmp)
          else words.addRawString(tmp)
          continue
        }
        let c = sc.next()
        if (c === this.escapeToken) {
          if (this.rawEscapes) {
            words.addRawChar(c)
            result += c
          }
          // the escape token escapes the next character, except at the end of the word
          c = sc.next()
          if (c === EOF) break
          words.addRawChar(c)
        } else {
          words.addChar(c)
        }
        result += c
      }
      if (stop !== EOF) throw new ShellError(`unexpected end of statement while looking for matching ${stop}`)
      return { word: result, words: words.finish() }
    } finally {
      this.rawEscapes = saved
    }
  }

  private processSingleQuote(): string {
    const sc = this.sc
    let result = ''
    const open = sc.next()
    if (this.opts.rawQuotes) result += open
    for (;;) {
      const ch = sc.next()
      if (ch === EOF) throw new ShellError('unexpected end of statement while looking for matching single-quote')
      if (ch === "'") {
        if (this.opts.rawQuotes) result += ch
        return result
      }
      result += ch
    }
  }

  private processDoubleQuote(): string {
    const sc = this.sc
    let result = ''
    const open = sc.next()
    if (this.opts.rawQuotes) result += open
    for (;;) {
      const peek = sc.peek()
      if (peek === EOF) throw new ShellError('unexpected end of statement while looking for matching double-quote')
      if (peek === '"') {
        const ch = sc.next()
        if (this.opts.rawQuotes) result += ch
        return result
      }
      if (peek === '$') {
        result += this.processDollar()
        continue
      }
      let ch = sc.next()
      if (ch === this.escapeToken) {
        if (this.rawEscapes) result += ch
        const after = sc.peek()
        if (after === EOF) continue // an escape at the very end: the missing quote is reported next
        if (after === '"' || after === '$' || after === this.escapeToken) ch = sc.next()
      }
      result += ch
    }
  }

  private processName(): string {
    const sc = this.sc
    let name = ''
    while (sc.peek() !== EOF) {
      const ch = sc.peek()
      if (name === '' && isDigit(ch)) {
        while (sc.peek() !== EOF && isDigit(sc.peek())) name += sc.next()
        return name
      }
      if (name === '' && isSpecialParam(ch)) return sc.next()
      if (!isLetter(ch) && !isDigit(ch) && ch !== '_') break
      name += sc.next()
    }
    return name
  }

  private processPossibleHeredoc(): string {
    const sc = this.sc
    sc.next()
    if (sc.peek() !== '<') return '<'
    sc.next()
    let space = ''
    while (isHeredocSpace(sc.peek())) space += sc.next()
    return `<<${space}`
  }

  private processDollar(): string {
    const sc = this.sc
    const skipUnset = this.opts.skipUnsetEnv
    sc.next()
    if (sc.peek() !== '{') {
      const name = this.processName()
      if (name === '') return '$'
      const value = this.getEnv(name)
      if (value === undefined && skipUnset) return `$${name}`
      return value ?? ''
    }
    sc.next()
    const first = sc.peek()
    if (first === EOF) throw new ShellError("syntax error: missing '}'")
    if (first === '{' || first === '}' || first === ':') throw new ShellError('syntax error: bad substitution')
    const name = this.processName()
    let ch = sc.next()
    let chs = ch
    if (ch === EOF) throw new ShellError("syntax error: missing '}'")
    if (ch === '}') {
      const value = this.getEnv(name)
      if (value === undefined && skipUnset) return `\${${name}}`
      return value ?? ''
    }
    if (ch === '/') return this.processReplace(name)
    let nullIsUnset = false
    if (ch === ':') {
      nullIsUnset = true
      ch = sc.next()
      chs += ch
    } else if (!'+-?#%'.includes(ch)) {
      throw new ShellError(`unsupported modifier (${chs}) in substitution`)
    }
    const trims = ch === '#' || ch === '%'
    if (nullIsUnset && trims) throw new ShellError(`unsupported modifier (${chs}) in substitution`)
    let word: string
    try {
      word = this.processStopOn('}', trims).word
    } catch (err) {
      if (sc.peek() === EOF) throw new ShellError("syntax error: missing '}'")
      throw err
    }
    const value = this.getEnv(name)
    if (value === undefined && skipUnset) return `\${${name}${chs}${word}}`
    const empty = value === undefined || (nullIsUnset && value === '')
    switch (ch) {
      case '-':
        return empty ? word : (value ?? '')
      case '+':
        return empty ? '' : word
      case '?':
        if (value === undefined) throw new ShellError(`${name}: ${word !== '' ? word : 'is not allowed to be unset'}`)
        if (nullIsUnset && value === '') {
          throw new ShellError(`${name}: ${word !== '' ? word : 'is not allowed to be empty'}`)
        }
        return value
      case '#':
      case '%': {
        const greedy = word.startsWith(ch)
        const pattern = greedy ? word.slice(1) : word
        const v = value ?? ''
        return ch === '%' ? trimSuffixPattern(pattern, v, greedy) : trimPrefixPattern(pattern, v, greedy)
      }
      default:
        throw new ShellError(`unsupported modifier (${chs}) in substitution`)
    }
  }

  private processReplace(name: string): string {
    const sc = this.sc
    const all = sc.peek() === '/'
    if (all) sc.next()
    let pattern: string
    try {
      pattern = this.processStopOn('/', true).word
    } catch (err) {
      if (sc.peek() === EOF) throw new ShellError("syntax error: missing '/' in ${}")
      throw err
    }
    let replacement: string
    try {
      replacement = this.processStopOn('}', true).word
    } catch (err) {
      if (sc.peek() === EOF) throw new ShellError("syntax error: missing '}'")
      throw err
    }
    const value = this.getEnv(name)
    if (value === undefined && this.opts.skipUnsetEnv) return `\${${name}/${pattern}/${replacement}}`
    return replacePattern(value ?? '', pattern, replacement, all)
  }
}


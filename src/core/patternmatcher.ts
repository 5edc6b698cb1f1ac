/**
 * moby/patternmatcher semantics (the matcher behind `.dockerignore`, `COPY --exclude`/`--parents`
 * and BuildKit's contenthash include/exclude filters), plus Go's `path.Match` and
 * `filepath.Clean`, and `ignorefile.ReadAll` for `.dockerignore` text. Paths are slash-separated
 * and relative (no leading `/`), as fsutil and contenthash pass them.
 */
import { InvalidArgumentError } from './errors.ts'

const badPattern = (pattern: string, why = 'syntax error in pattern') => new InvalidArgumentError(`${why}: ${JSON.stringify(pattern)}`, { code: 'ERR_BAD_PATTERN' })

/** Go `path.Clean` / `filepath.Clean` on Unix: lexical, `""` → `"."`. */
export function goClean(p: string): string {
  const rooted = p[0] === '/'
  const out: string[] = []
  for (const part of p.split('/')) {
    if (part === '..' && (rooted || (out.length > 0 && out[out.length - 1] !== '..'))) out.pop()
    else if (part !== '' && part !== '.') out.push(part)
  }
  const s = out.join('/')
  return rooted ? `/${s}` : s === '' ? '.' : s
}

function scanChunk(pattern: string): [star: boolean, chunk: string, rest: string] {
  const star = pattern[0] === '*'
  pattern = pattern.replace(/^\*+/, '')
  let inrange = false
  let i = 0
  for (; i < pattern.length; i++) {
    const c = pattern[i]
    if (c === '\\' && i + 1 < pattern.length) i++
    else if (c === '[' || c === ']') inrange = c === '['
    else if (c === '*' && !inrange) break
  }
  return [star, pattern.slice(0, i), pattern.slice(i)]
}

/** The code point at the start of `s` and its length in UTF-16 units. */
function cp0(s: string): [number, number] {
  const c = s.codePointAt(0) ?? 0
  return [c, c > 0xffff ? 2 : 1]
}

function getEsc(chunk: string, pattern: string): [number, string] {
  if (chunk.length === 0 || chunk[0] === '-' || chunk[0] === ']') throw badPattern(pattern)
  if (chunk[0] === '\\') chunk = chunk.slice(1)
  const [r, n] = cp0(chunk)
  if (chunk.length <= n) throw badPattern(pattern)
  return [r, chunk.slice(n)]
}

/** Go's matchChunk: the rest of `s` after `chunk` matched its start, or null. */
function matchChunk(chunk: string, s: string, pattern: string): string | null {
  let failed = false
  while (chunk.length > 0) {
    if (!failed && s.length === 0) failed = true
    const c = chunk[0]
    if (c === '[') {
      const [r, n] = failed ? [0, 0] : cp0(s)
      s = s.slice(n)
      chunk = chunk.slice(1)
      const negated = chunk[0] === '^'
      if (negated) chunk = chunk.slice(1)
      let match = false
      for (let nrange = 0; !(chunk[0] === ']' && nrange > 0); nrange++) {
        let lo: number
        let hi: number
        ;[lo, chunk] = getEsc(chunk, pattern)
        hi = lo
        if (chunk[0] === '-') [hi, chunk] = getEsc(chunk.slice(1), pattern)
        if (lo <= r && r <= hi) match = true
      }
      chunk = chunk.slice(1)
      if (match === negated) failed = true
    } else if (c === '?') {
      if (!failed) {
        if (s[0] === '/') failed = true
        s = s.slice(cp0(s)[1])
      }
      chunk = chunk.slice(1)
    } else {
      if (c === '\\') {
        chunk = chunk.slice(1)
        if (chunk.length === 0) throw badPattern(pattern)
      }
      if (!failed) {
        if (chunk[0] !== s[0]) failed = true
        s = s.slice(1)
      }
      chunk = chunk.slice(1)
    }
  }
  return failed ? null : s
}

/**
 * Go `path.Match`: `*` (no `/`), `?`, `[...]` with `^` negation and ranges, `\` escapes; the
 * whole name must match. Throws InvalidArgumentError (ERR_BAD_PATTERN) on a malformed pattern.
 */
export function goPathMatch(pattern: string, name: string): boolean {
  const full = pattern
  outer: while (pattern.length > 0) {
    const [star, chunk, rest] = scanChunk(pattern)
    pattern = rest
    if (star && chunk === '') return !name.includes('/')
    const t = matchChunk(chunk, name, full)
    if (t !== null && (t.length === 0 || pattern.length > 0)) {
      name = t
      continue
    }
    for (let i = 0; star && i < name.length && name[i] !== '/'; i++) {
      const t2 = matchChunk(chunk, name.slice(i + 1), full)
      if (t2 !== null && (pattern.length > 0 || t2.length === 0)) {
        name = t2
        continue outer
      }
    }
    // No match: still report a malformed remainder, as Go does.
    for (let r = pattern; r.length > 0; r = scanChunk(r)[2]) matchChunk(scanChunk(r)[1], '', full)
    return false
  }
  return name.length === 0
}

type MatchType = 'exact' | 'prefix' | 'suffix' | 'regexp'
const ESCAPED = new Set(['.', '+', '(', ')', '|', '{', '}', '$'])
/** Go regexp escapes with a JS equivalent (Go's \s is ASCII-only). */
const REGEX_ESCAPES: Record<string, string> = { d: '\\d', D: '\\D', w: '\\w', W: '\\W', s: '[\\t\\n\\f\\r ]', S: '[^\\t\\n\\f\\r ]', b: '\\b', B: '\\B', t: '\\t', n: '\\n', r: '\\r', f: '\\f', v: '\\v', a: '\\x07', A: '^', z: '$' }
const literal = (ch: string) => `\\u{${ch.codePointAt(0)?.toString(16)}}`

/**
 * Translates a cleaned pattern the way Pattern.compile does: `**` at the start → suffix match,
 * a trailing `**` → prefix match, no metacharacters → exact match, otherwise a Go regexp (here a
 * JS `u` regexp with the same meaning; Go's `.` excludes `\n`, hence `[^\n]`).
 */
function compile(cleaned: string): [MatchType, RegExp | undefined] {
  let re = '^'
  let type: MatchType = 'exact'
  const chars = Array.from(cleaned)
  for (let i = 0, j = 0; j < chars.length; i++) {
    const ch = chars[j++] as string
    let part = ch
    let regexp = true
    if (ch === '*' && chars[j] === '*') {
      j += chars[j + 1] === '/' ? 2 : 1
      part = j >= chars.length ? (type === 'exact' ? '' : '[^\\n]*') : '(?:[^\\n]*/)?'
      regexp = part !== ''
      if (!regexp) type = 'prefix'
      if (i === 0) {
        re += part
        type = 'suffix'
        continue
      }
    } else if (ch === '*') part = '[^/]*'
    else if (ch === '?') part = '[^/]'
    else if (ch === '\\' && j < chars.length) {
      const next = chars[j++] as string
      part = /^[\p{L}\p{N}]$/u.test(next) ? (REGEX_ESCAPES[next] ?? '') : literal(next)
      if (part === '') throw badPattern(cleaned)
    } else if (ch !== '[' && ch !== ']') {
      regexp = false
      part = ESCAPED.has(ch) ? `\\${ch}` : ch === '\\' ? '\\\\' : /[\p{L}\p{N}/_ ^-]/u.test(ch) ? ch : literal(ch)
    }
    re += part
    if (regexp) type = 'regexp'
  }
  if (type !== 'regexp') return [type, undefined]
  try {
    return [type, new RegExp(`${re}$`, 'u')]
  } catch (cause) {
    throw new InvalidArgumentError(`syntax error in pattern: ${JSON.stringify(cleaned)}`, { code: 'ERR_BAD_PATTERN', cause })
  }
}

/** One compiled pattern (patternmatcher.Pattern). */
export class Pattern {
  readonly exclusion: boolean
  /** The cleaned pattern without its `!`. */
  readonly cleaned: string
  readonly #type: MatchType
  readonly #re: RegExp | undefined

  constructor(cleaned: string, exclusion: boolean) {
    this.cleaned = cleaned
    this.exclusion = exclusion
    ;[this.#type, this.#re] = compile(cleaned)
  }

  /** Whether the (cleaned, relative) path matches this pattern alone. */
  match(path: string): boolean {
    const p = this.cleaned
    switch (this.#type) {
      case 'exact':
        return path === p
      case 'prefix':
        return path.startsWith(p.slice(0, -2))
      case 'suffix':
        return path.endsWith(p.slice(2)) || (p[2] === '/' && path === p.slice(3))
      case 'regexp':
        return this.#re?.test(path) ?? false
    }
  }

  toString = (): string => this.cleaned
}

/** Per-pattern results for a directory, handed to its children (patternmatcher.MatchInfo). */
export type MatchInfo = readonly boolean[]

/** A list of patterns where later `!` patterns re-include what earlier ones matched. */
export class PatternMatcher {
  readonly patterns: readonly Pattern[]
  /** Whether any pattern is an exclusion (`!`). */
  readonly exclusions: boolean

  /** Trims, drops empty patterns, cleans each; throws ERR_BAD_PATTERN on malformed ones. */
  constructor(patterns: readonly string[]) {
    const out: Pattern[] = []
    let exclusions = false
    for (let p of patterns) {
      p = p.trim()
      if (p === '') continue
      p = goClean(p)
      const exclusion = p[0] === '!'
      if (p === '!') throw badPattern(p, 'illegal exclusion pattern')
      if (exclusion) p = p.slice(1)
      exclusions ||= exclusion
      goPathMatch(p, '.') // syntax check, as patternmatcher.New does
      out.push(new Pattern(p, exclusion))
    }
    this.patterns = out
    this.exclusions = exclusions
  }

  #parentMatch(pattern: Pattern, file: string): boolean {
    for (let i = file.indexOf('/'); i > 0; i = file.indexOf('/', i + 1)) if (pattern.match(file.slice(0, i))) return true
    return false
  }

  /** Whether `file` or one of its parent directories matches (after exclusions). */
  matchesOrParentMatches(file: string): boolean {
    let matched = false
    for (const pattern of this.patterns) {
      if (pattern.exclusion !== matched) continue
      const match = pattern.match(file) || this.#parentMatch(pattern, file)
      if (match) matched = !pattern.exclusion
    }
    return matched
  }

  /**
   * Like matchesOrParentMatches, with the parent directory's MatchInfo instead of re-matching
   * every parent (pass `[]` for a top-level path, or when nothing is known about the parent).
   */
  matchesUsingParentResults(file: string, parent: MatchInfo): { matched: boolean; info: MatchInfo } {
    if (parent.length !== 0 && parent.length !== this.patterns.length) throw new InvalidArgumentError('wrong number of values in parentMatched')
    let matched = false
    const info: boolean[] = new Array(this.patterns.length).fill(false)
    this.patterns.forEach((pattern, i) => {
      let match = parent.length !== 0 && parent[i] === true
      if (!match) {
        if (pattern.exclusion !== matched) return
        match = pattern.match(file) || (parent.length === 0 && this.#parentMatch(pattern, file))
      }
      info[i] = match
      if (match) matched = !pattern.exclusion
    })
    return { matched, info }
  }
}

/** patternmatcher.MatchesOrParentMatches(file, patterns); `"."` never matches. */
export function matchesOrParentMatches(file: string, patterns: readonly string[]): boolean {
  const pm = new PatternMatcher(patterns)
  file = goClean(file)
  return file === '.' ? false : pm.matchesOrParentMatches(file)
}

/**
 * The patterns of a `.dockerignore` file (ignorefile.ReadAll): BOM stripped, lines starting with
 * `#` skipped, whitespace trimmed, blank lines dropped, each pattern cleaned, a leading `/`
 * removed; `!` kept in front.
 */
export function readDockerignore(text: string): string[] {
  const out: string[] = []
  for (const line of text.replace(/^\ufeff/, '').split('\n')) {
    let pattern = line.trim()
    if (line.startsWith('#') || pattern === '') continue
    const invert = pattern[0] === '!'
    if (invert) pattern = pattern.slice(1).trim()
    if (pattern.length > 0) {
      pattern = goClean(pattern)
      if (pattern.length > 1 && pattern[0] === '/') pattern = pattern.slice(1)
    }
    out.push(invert ? `!${pattern}` : pattern)
  }
  return out
}

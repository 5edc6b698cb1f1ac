/**
 * Redaction of secret values (build secrets, registry and cache-backend credentials) from
 * anything cairn prints or writes: progress output, errors, the metadata file. Values shorter
 * than MIN_PATTERN_BYTES are not redacted (masking every "ab" would garble output; the CLI warns).
 */
import { MIN_PATTERN_BYTES } from './matcher.ts'

export const MASK = '***'

/** A growing set of values to hide; values learnt later (a registry token) apply from then on. */
export interface Redactor {
  /** Adds values to hide (empty and too-short ones are ignored). */
  add(...values: readonly (string | Buffer | undefined)[]): void
  /** `s` with every known value replaced by `***`. */
  redact(s: string): string
  /** The values as byte patterns, longest first. */
  patterns(): readonly Buffer[]
  /** The longest value's length in bytes (0 when none). */
  readonly longest: number
}

export function createRedactor(initial: readonly (string | Buffer | undefined)[] = []): Redactor {
  const strings = new Set<string>()
  let sorted: string[] = []
  let bufs: Buffer[] = []
  let longest = 0
  const addOne = (v: string) => {
    if (Buffer.byteLength(v) < MIN_PATTERN_BYTES || strings.has(v)) return false
    strings.add(v)
    return true
  }
  const r: Redactor = {
    add(...values) {
      let changed = false
      for (const v of values) {
        if (v === undefined) continue
        const s = typeof v === 'string' ? v : v.toString('utf8')
        changed = addOne(s) || changed
        // the same value as it appears inside JSON strings (quotes, backslashes, newlines escaped)
        const escaped = JSON.stringify(s).slice(1, -1)
        if (escaped !== s) changed = addOne(escaped) || changed
        // a multi-line value printed line by line: each substantial line on its own
        if (s.includes('\n')) for (const line of s.split(/\r?\n/)) if (line.trim().length >= 8) changed = addOne(line) || changed
      }
      if (!changed) return
      sorted = [...strings].sort((a, b) => b.length - a.length)
      bufs = sorted.map((s) => Buffer.from(s))
      longest = Math.max(0, ...bufs.map((b) => b.length))
    },
    redact(s) {
      if (sorted.length === 0 || s.length === 0) return s
      let out = s
      for (const v of sorted) if (out.includes(v)) out = out.split(v).join(MASK)
      return out
    },
    patterns: () => bufs,
    get longest() {
      return longest
    },
  }
  r.add(...initial)
  return r
}

/** Replaces every occurrence of the patterns (longest first at each position) in `buf` with the mask. */
export function redactBytes(buf: Buffer, patterns: readonly Buffer[]): Buffer {
  if (patterns.length === 0) return buf
  const parts: Buffer[] = []
  let pos = 0
  const mask = Buffer.from(MASK)
  for (;;) {
    let at = -1
    let len = 0
    for (const p of patterns) {
      const i = buf.indexOf(p, pos)
      if (i >= 0 && (at < 0 || i < at || (i === at && p.length > len))) {
        at = i
        len = p.length
      }
    }
    if (at < 0) break
    parts.push(buf.subarray(pos, at), mask)
    pos = at + len
  }
  if (parts.length === 0) return buf
  parts.push(buf.subarray(pos))
  return Buffer.concat(parts)
}

/** Length of the longest proper suffix of `buf` that is a prefix of some pattern (it may complete in the next chunk). */
function pendingPrefix(buf: Buffer, patterns: readonly Buffer[]): number {
  let best = 0
  for (const p of patterns) {
    // candidate starts: where the first byte of the pattern occurs within its length of the end
    let i = buf.indexOf(p[0] as number, Math.max(0, buf.length - p.length + 1))
    while (i >= 0) {
      const n = buf.length - i
      if (n <= best) break
      if (buf.compare(p, 0, n, i, buf.length) === 0) {
        best = n
        break
      }
      i = buf.indexOf(p[0] as number, i + 1)
    }
  }
  return best
}

/** Bytes at the end of `buf` that start an incomplete UTF-8 sequence (0 to 3). */
function incompleteUtf8(buf: Buffer): number {
  for (let back = 1; back <= Math.min(3, buf.length); back++) {
    const b = buf[buf.length - back] as number
    if ((b & 0xc0) === 0x80) continue // continuation byte: keep looking for the lead byte
    const need = b >= 0xf0 ? 4 : b >= 0xe0 ? 3 : b >= 0xc0 ? 2 : 1
    return need > back ? back : 0
  }
  return 0
}

/**
 * Redacts one output stream (a step's stdout) chunk by chunk: a secret split over two chunks is
 * still masked, because a tail that could be the start of a secret is held back until the next
 * chunk (or `flush`) decides it.
 */
export class StreamRedactor {
  #r: Redactor
  #pending: Buffer = Buffer.alloc(0)
  constructor(r: Redactor) {
    this.#r = r
  }
  /** The redacted bytes that are ready to show (possibly empty). */
  push(chunk: Buffer): Buffer {
    const pats = this.#r.patterns()
    const all = this.#pending.length ? Buffer.concat([this.#pending, chunk]) : chunk
    if (pats.length === 0) {
      const keep = incompleteUtf8(all)
      this.#pending = Buffer.from(all.subarray(all.length - keep))
      return all.subarray(0, all.length - keep)
    }
    const red = redactBytes(all, pats)
    const keep = Math.max(pendingPrefix(red, pats), incompleteUtf8(red))
    this.#pending = Buffer.from(red.subarray(red.length - keep))
    return red.subarray(0, red.length - keep)
  }
  /** Whatever was held back (the stream ended). */
  flush(): Buffer {
    const rest = redactBytes(this.#pending, this.#r.patterns())
    this.#pending = Buffer.alloc(0)
    return rest
  }
}

/** A deep copy of a JSON-like value with every string redacted (keys included). */
export function redactDeep<T>(value: T, redact: (s: string) => string): T {
  const walk = (v: unknown): unknown => {
    if (typeof v === 'string') return redact(v)
    if (Array.isArray(v)) return v.map(walk)
    if (v && typeof v === 'object' && !Buffer.isBuffer(v)) return Object.fromEntries(Object.entries(v).map(([k, x]) => [redact(k), walk(x)]))
    return v
  }
  return walk(value) as T
}

/**
 * Go `time.Time` text form as BuildKit writes it: RFC 3339 with nanoseconds, trailing zero
 * fraction digits trimmed, zone `Z` or `±hh:mm`. Times are strings throughout the format (Go keeps
 * nanoseconds, JS Dates only milliseconds); these helpers parse, normalise and compare them.
 */
import { FailedPreconditionError, InvalidArgumentError } from '../../core/errors.ts'
import { ZERO_TIME } from './media.ts'

export interface GoTime {
  /** Seconds since the Unix epoch (negative before 1970; year 1 is fine). */
  seconds: number
  nanos: number
  /** Zone offset east of UTC, in minutes. */
  offsetMinutes: number
}

const RFC3339_RE = /^(\d{4})-(\d{2})-(\d{2})[Tt](\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))?(?:([Zz])|([+-])(\d{2}):(\d{2}))$/

/** Parses an RFC 3339 time; undefined when malformed. */
export function parseGoTime(s: string): GoTime | undefined {
  const m = RFC3339_RE.exec(s)
  if (!m) return undefined
  const [year, month, day, hour, minute, second] = m.slice(1, 7).map(Number) as [number, number, number, number, number, number]
  if (month < 1 || month > 12 || day < 1 || hour > 23 || minute > 59 || second > 59) return undefined
  const d = new Date(0)
  d.setUTCFullYear(year, month - 1, day)
  if (d.getUTCDate() !== day) return undefined // 31 Feb and friends
  const nanos = m[7] ? Number(m[7].padEnd(9, '0')) : 0
  let offsetMinutes = 0
  if (!m[8]) {
    const oh = Number(m[10])
    const om = Number(m[11])
    if (oh > 23 || om > 59) return undefined
    offsetMinutes = (m[9] === '-' ? -1 : 1) * (oh * 60 + om)
  }
  const local = d.getTime() / 1000 + hour * 3600 + minute * 60 + second
  return { seconds: local - offsetMinutes * 60, nanos, offsetMinutes }
}

const pad = (n: number, w = 2): string => String(n).padStart(w, '0')

/** Formats as Go's RFC3339Nano, in the time's own zone, or in UTC with `utc`. */
export function formatGoTime(t: GoTime, o: { utc?: boolean } = {}): string {
  const offset = o.utc ? 0 : t.offsetMinutes
  const d = new Date((t.seconds + offset * 60) * 1000)
  const frac = t.nanos === 0 ? '' : `.${String(t.nanos).padStart(9, '0').replace(/0+$/, '')}`
  const zone = offset === 0 ? 'Z' : `${offset < 0 ? '-' : '+'}${pad(Math.floor(Math.abs(offset) / 60))}:${pad(Math.abs(offset) % 60)}`
  return `${pad(d.getUTCFullYear(), 4)}-${pad(d.getUTCMonth() + 1)}-${pad(d.getUTCDate())}T${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())}:${pad(d.getUTCSeconds())}${frac}${zone}`
}

/**
 * Canonical Go form of an RFC 3339 string (`2025-03-02T08:15:31.500+00:00` → `…31.5Z`).
 * `what` names the input in the error. Readers pass `strict: false` to map garbage to the zero time.
 */
export function normalizeTime(s: string, what: string, o: { utc?: boolean; strict?: boolean } = {}): string {
  const t = parseGoTime(s)
  if (!t) {
    if (o.strict === false) return ZERO_TIME
    throw new InvalidArgumentError(`${what}: invalid time ${JSON.stringify(s)}`, {
      hint: 'use RFC 3339, e.g. 2025-03-02T08:15:31.123456789Z',
    })
  }
  return formatGoTime(t, o.utc ? { utc: true } : {})
}

/** Like normalizeTime but for decoded data: FailedPreconditionError naming the field. */
export function decodeTime(v: unknown, what: string): string {
  if (v === undefined || v === null) return ZERO_TIME
  const t = typeof v === 'string' ? parseGoTime(v) : undefined
  if (!t)
    throw new FailedPreconditionError(`${what}: invalid time ${JSON.stringify(v)}`, {
      code: 'ERR_CACHE_FORMAT',
      hint: 'the cache config is corrupt; re-export it',
    })
  return formatGoTime(t)
}

/** Orders two RFC 3339 strings by instant (invalid strings sort as the zero time). */
export function compareTimes(a: string, b: string): number {
  const ta = parseGoTime(a) ?? (parseGoTime(ZERO_TIME) as GoTime)
  const tb = parseGoTime(b) ?? (parseGoTime(ZERO_TIME) as GoTime)
  return ta.seconds - tb.seconds || ta.nanos - tb.nanos
}

/** The Go UTC text form of a JS Date (millisecond precision), for callers that own a clock. */
export function goTimeFromDate(d: Date): string {
  const ms = d.getTime()
  const seconds = Math.floor(ms / 1000)
  return formatGoTime({ seconds, nanos: (ms - seconds * 1000) * 1e6, offsetMinutes: 0 })
}

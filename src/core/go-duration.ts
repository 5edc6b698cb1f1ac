import { InvalidArgumentError } from './errors.ts'

const UNIT_NS: Record<string, number> = { ns: 1, us: 1e3, 'µs': 1e3, 'μs': 1e3, ms: 1e6, s: 1e9, m: 60e9, h: 3600e9 }

/** Go's time.ParseDuration (`10m`, `1h30m`, `1.5s`, `300ms`), in nanoseconds; errors read as Go's. */
export function parseGoDurationNs(text: string): number {
  const bad = (why = 'invalid duration') => new InvalidArgumentError(`time: ${why} ${JSON.stringify(text)}`)
  let s = text
  let sign = 1
  if (s.startsWith('-') || s.startsWith('+')) {
    if (s[0] === '-') sign = -1
    s = s.slice(1)
  }
  if (s === '0') return 0
  if (s === '') throw bad()
  let total = 0
  const re = /^([0-9]*)(?:\.([0-9]*))?([^0-9.]*)/
  while (s !== '') {
    const m = re.exec(s)
    if (!m || (m[1] === '' && (m[2] ?? '') === '')) throw bad()
    const unit = m[3] as string
    if (unit === '') throw bad('missing unit in duration')
    const mult = UNIT_NS[unit]
    if (mult === undefined) throw new InvalidArgumentError(`time: unknown unit ${JSON.stringify(unit)} in duration ${JSON.stringify(text)}`)
    total += Number(`${m[1] || '0'}.${m[2] || '0'}`) * mult
    s = s.slice(m[0].length)
  }
  return sign * Math.round(total)
}

/** The same in milliseconds, with an error that names the input (`what`) and shows the expected form. */
export function parseGoDurationMs(text: string, what: string): number {
  try {
    return Math.round(parseGoDurationNs(text) / 1e6)
  } catch {
    throw new InvalidArgumentError(`${what}: invalid duration ${JSON.stringify(text)}: expected a Go duration such as 30s, 10m or 1h30m`)
  }
}

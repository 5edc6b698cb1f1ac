/** Value parsers with Go semantics (strconv.ParseBool, time.ParseDuration) for cache attributes. */
import { InvalidArgumentError } from '../../core/errors.ts'

const TRUE = new Set(['1', 't', 'T', 'TRUE', 'true', 'True'])
const FALSE = new Set(['0', 'f', 'F', 'FALSE', 'false', 'False'])

/** strconv.ParseBool; `what` names the attribute in the error. */
export function parseGoBool(v: string, what: string): boolean {
  if (TRUE.has(v)) return true
  if (FALSE.has(v)) return false
  throw new InvalidArgumentError(`${what}: invalid boolean ${JSON.stringify(v)}`, { hint: 'use true or false' })
}

/** A boolean that may be unset. */
export function isTruthyEnv(v: string | undefined): boolean {
  return v !== undefined && TRUE.has(v)
}

export function parseInteger(v: string, what: string, min: number, max = Number.MAX_SAFE_INTEGER): number {
  if (!/^[+-]?\d+$/.test(v)) throw new InvalidArgumentError(`${what}: invalid integer ${JSON.stringify(v)}`)
  const n = Number(v)
  if (n < min || n > max) throw new InvalidArgumentError(`${what}: ${n} is out of range (${min}–${max === Number.MAX_SAFE_INTEGER ? '∞' : max})`)
  return n
}

const UNIT_MS: Record<string, number> = { ns: 1e-6, us: 1e-3, µs: 1e-3, μs: 1e-3, ms: 1, s: 1000, m: 60_000, h: 3_600_000 }

/** time.ParseDuration (`10m`, `1h30m`, `1.5h`, `300ms`) → milliseconds. */
export function parseGoDuration(v: string, what: string): number {
  const bad = (): InvalidArgumentError =>
    new InvalidArgumentError(`${what}: invalid duration ${JSON.stringify(v)}`, { hint: 'use a Go duration such as 30s, 10m or 1h30m' })
  let s = v
  let sign = 1
  if (s.startsWith('-') || s.startsWith('+')) {
    if (s[0] === '-') sign = -1
    s = s.slice(1)
  }
  if (s === '0') return 0
  if (s === '') throw bad()
  let total = 0
  const re = /^(\d+\.?\d*|\.\d+)(ns|us|µs|μs|ms|s|m|h)/
  while (s.length > 0) {
    const m = re.exec(s)
    if (!m) throw bad()
    total += Number(m[1]) * (UNIT_MS[m[2] as string] as number)
    s = s.slice(m[0].length)
  }
  return sign * total
}

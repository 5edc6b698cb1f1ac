/** Value parsers with Go semantics (strconv.ParseBool, time.ParseDuration) for cache attributes. */
import { parseGoDurationMs } from '../../core/go-duration.ts'
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

/** time.ParseDuration (`10m`, `1h30m`, `1.5h`, `300ms`) → milliseconds. */
export const parseGoDuration = (v: string, what: string): number => parseGoDurationMs(v, what)

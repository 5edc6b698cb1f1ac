/**
 * JSON helpers that mimic Go's encoding/json: output with HTML-safe escaping and map keys sorted
 * (objects are built in Go field order by the callers), input with case-insensitive key matching,
 * unknown keys ignored and typed field access that names the offending path.
 */
import { FailedPreconditionError } from '../../core/errors.ts'

const ESCAPES: Record<string, string> = { '<': '\\u003c', '>': '\\u003e', '&': '\\u0026', '\u2028': '\\u2028', '\u2029': '\\u2029' }

/** Serialises like json.Marshal (no whitespace, `<>&` escaped). Key order is the object's. */
export function goJson(value: unknown): string {
  return JSON.stringify(value).replace(/[<>&\u2028\u2029]/g, (c) => ESCAPES[c] as string)
}

/** A copy of a string map with keys sorted by code unit, as Go marshals maps. */
export function sortedMap(m: Readonly<Record<string, string>>): Record<string, string> {
  const out: Record<string, string> = {}
  for (const k of Object.keys(m).sort((a, b) => (a < b ? -1 : a > b ? 1 : 0))) out[k] = m[k] as string
  return out
}

const corrupt = (what: string, msg: string, hint = 'the cache is corrupt or not a BuildKit cache; re-export it'): FailedPreconditionError =>
  new FailedPreconditionError(`${what}: ${msg}`, { code: 'ERR_CACHE_FORMAT', hint })

export { corrupt as formatError }

/** Parses JSON bytes, FailedPreconditionError naming `what` when they are not JSON. */
export function parseJson(bytes: Uint8Array | string, what: string): unknown {
  const text = typeof bytes === 'string' ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('utf8')
  try {
    return JSON.parse(text) as unknown
  } catch (err) {
    throw corrupt(what, `not valid JSON (${(err as Error).message})`)
  }
}

export type JsonObject = Record<string, unknown>

export function isObject(v: unknown): v is JsonObject {
  return typeof v === 'object' && v !== null && !Array.isArray(v)
}

export function asObject(v: unknown, what: string): JsonObject {
  if (!isObject(v)) throw corrupt(what, `expected a JSON object, got ${describe(v)}`)
  return v
}

/** A field looked up as Go does: keys match case-insensitively; the last matching key wins. */
export function field(obj: JsonObject, name: string): unknown {
  if (Object.hasOwn(obj, name) && !hasFoldDuplicate(obj, name)) return obj[name]
  const lower = name.toLowerCase()
  let out: unknown
  for (const k of Object.keys(obj)) if (k.toLowerCase() === lower) out = obj[k]
  return out
}

function hasFoldDuplicate(obj: JsonObject, name: string): boolean {
  const lower = name.toLowerCase()
  let n = 0
  for (const k of Object.keys(obj)) if (k.toLowerCase() === lower) n++
  return n > 1
}

/** An array field; null/absent → []. */
export function arrayField(obj: JsonObject, name: string, what: string): unknown[] {
  const v = field(obj, name)
  if (v === undefined || v === null) return []
  if (!Array.isArray(v)) throw corrupt(`${what}.${name}`, `expected an array, got ${describe(v)}`)
  return v
}

/** An integer field; null/absent → `dflt` (Go's zero value unless told otherwise). */
export function intField(obj: JsonObject, name: string, what: string, dflt = 0): number {
  const v = field(obj, name)
  if (v === undefined || v === null) return dflt
  if (typeof v !== 'number' || !Number.isSafeInteger(v)) throw corrupt(`${what}.${name}`, `expected an integer, got ${describe(v)}`)
  return v
}

/** A string field; null/absent → ''. */
export function stringField(obj: JsonObject, name: string, what: string): string {
  const v = field(obj, name)
  if (v === undefined || v === null) return ''
  if (typeof v !== 'string') throw corrupt(`${what}.${name}`, `expected a string, got ${describe(v)}`)
  return v
}

function describe(v: unknown): string {
  if (v === null) return 'null'
  if (Array.isArray(v)) return 'an array'
  if (typeof v === 'string') return JSON.stringify(v.length > 40 ? `${v.slice(0, 40)}…` : v)
  return typeof v === 'object' ? 'an object' : `${typeof v} ${String(v)}`
}

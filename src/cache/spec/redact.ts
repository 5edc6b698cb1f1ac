/** Secret-free views of cache specs for messages, logs and progress events. */
import { SECRET_ATTRS } from './attrs.ts'
import type { CacheSpec } from './types.ts'

const MASK = '***'
const SECRET_FIELDS = new Set(['token', 'ghToken', 'secretAccessKey'])

/** A deep copy with every secret (tokens, keys, session tokens, in `attrs` and typed fields) replaced by `***`. */
export function redactSpec<T extends CacheSpec>(spec: T): T {
  const out: Record<string, unknown> = { ...spec }
  out.attrs = Object.fromEntries(Object.entries(spec.attrs).map(([k, v]) => [k, SECRET_ATTRS.has(k) ? MASK : v]))
  out.ignoredAttrs = spec.ignoredAttrs.map((a) => ({ ...a }))
  for (const f of SECRET_FIELDS) if (typeof out[f] === 'string') out[f] = MASK
  const creds = out.credentials as Record<string, unknown> | undefined
  if (creds) out.credentials = Object.fromEntries(Object.entries(creds).map(([k, v]) => [k, v === undefined ? v : MASK]))
  return out as T
}

/** `type=s3,bucket=b,secret_access_key=***` — the entry as a flag value, secrets masked, keys sorted. */
export function formatSpec(spec: CacheSpec): string {
  const attrs = redactSpec(spec).attrs
  const fields = [
    `type=${spec.type}`,
    ...Object.keys(attrs)
      .sort()
      .map((k) => `${k}=${attrs[k]}`),
  ]
  return fields.map((f) => (/[",]/.test(f) ? `"${f.replace(/"/g, '""')}"` : f)).join(',')
}

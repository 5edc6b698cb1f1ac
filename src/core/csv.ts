import { InvalidArgumentError } from './errors.ts'

/**
 * Splits a buildx-style CSV value (`type=local,"dest=a,b"`) into fields, honouring double quotes
 * as encoding/csv does.
 */
export function splitCsv(value: string, what: string): string[] {
  const out: string[] = []
  let cur = ''
  let quoted = false
  let i = 0
  while (i < value.length) {
    const c = value[i] as string
    if (quoted) {
      if (c === '"' && value[i + 1] === '"') {
        cur += '"'
        i += 2
        continue
      }
      if (c === '"') quoted = false
      else cur += c
    } else if (c === '"') quoted = true
    else if (c === ',') {
      out.push(cur)
      cur = ''
    } else cur += c
    i++
  }
  if (quoted) throw new InvalidArgumentError(`${what}: unterminated quote in ${JSON.stringify(value)}`)
  out.push(cur)
  return out.map((s) => s.trim()).filter((s) => s !== '')
}

/** `k=v,k2=v2` → Map (keys lower-cased, later keys win). */
export function parseCsvAttrs(value: string, what: string): Map<string, string> {
  const m = new Map<string, string>()
  for (const field of splitCsv(value, what)) {
    const eq = field.indexOf('=')
    if (eq <= 0) throw new InvalidArgumentError(`${what}: invalid field ${JSON.stringify(field)}: expected key=value`)
    m.set(field.slice(0, eq).trim().toLowerCase(), field.slice(eq + 1))
  }
  return m
}

/** Value parsers BuildKit borrows from Go: time.ParseDuration, go-units RAMInBytes, CSV fields, ParseBool. */
import { InvalidArgumentError } from '../../core/errors.ts'

/** Go's time.ParseDuration, in nanoseconds. */
export { parseGoDurationNs as parseDuration } from '../../core/go-duration.ts'

const RAM = /^(\d+(?:\.\d+)*) ?([kKmMgGtTpP])?[iI]?[bB]?$/
const RAM_MULT: Record<string, number> = { k: 1024, m: 1024 ** 2, g: 1024 ** 3, t: 1024 ** 4, p: 1024 ** 5 }

/** go-units RAMInBytes: `512`, `64m`, `1.5GiB` → bytes (binary multiples). */
export function parseRAMInBytes(text: string): number {
  const m = RAM.exec(text)
  if (!m) throw new InvalidArgumentError(`invalid size: '${text}'`)
  const size = Number.parseFloat(m[1] as string)
  const unit = (m[2] ?? '').toLowerCase()
  return Math.trunc(size * (unit === '' ? 1 : (RAM_MULT[unit] as number)))
}

/** Go's strconv.ParseBool. */
export function parseBool(value: string): boolean | undefined {
  if (['1', 't', 'T', 'TRUE', 'true', 'True'].includes(value)) return true
  if (['0', 'f', 'F', 'FALSE', 'false', 'False'].includes(value)) return false
  return undefined
}

/** One CSV record (RFC 4180 quoting with `""` for a quote), as go-csvvalue reads `--mount` values. */
export function csvFields(line: string): string[] {
  const fields: string[] = []
  let i = 0
  for (;;) {
    let field = ''
    if (line[i] === '"') {
      i++
      for (;;) {
        if (i >= line.length) throw new InvalidArgumentError(`extraneous or missing " in quoted-field`)
        const ch = line[i] as string
        if (ch === '"') {
          if (line[i + 1] === '"') {
            field += '"'
            i += 2
            continue
          }
          i++
          break
        }
        field += ch
        i++
      }
      if (i < line.length && line[i] !== ',') throw new InvalidArgumentError(`extraneous or missing " in quoted-field`)
    } else {
      while (i < line.length && line[i] !== ',') {
        if (line[i] === '"') throw new InvalidArgumentError(`bare " in non-quoted-field`)
        field += line[i]
        i++
      }
    }
    fields.push(field)
    if (i >= line.length) return fields
    i++ // the comma
  }
}

/** Parses an unsigned integer in `radix` that fits in 32 bits (strconv.ParseUint(v, radix, 32)). */
export function parseUint32(value: string, radix: 8 | 10): number | undefined {
  const re = radix === 8 ? /^[0-7]+$/ : /^[0-9]+$/
  if (!re.test(value)) return undefined
  const n = Number.parseInt(value, radix)
  return n <= 0xffffffff ? n : undefined
}

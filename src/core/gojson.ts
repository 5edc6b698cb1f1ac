/**
 * Go `encoding/json`-exact serialisation (json.Marshal with its default HTML escaping), for the
 * BuildKit CacheMap preimages whose bytes must match the daemon's. A Go value is described with
 * small constructors, struct fields listed in Go declaration order:
 *
 *   goMarshal(struct([
 *     ['Type', 'buildkit.exec.v0'],
 *     ['args', ['/bin/sh', '-c', 'true'], { omitempty: true }],
 *     ['mode', int64(-1n), { omitempty: true }],
 *   ]))
 *
 * JS shorthands are accepted anywhere a value is: string → Go string, boolean → bool,
 * bigint / integral number → int, Uint8Array → []byte (base64), array → slice,
 * null / undefined → nil (pointer, slice or interface; `null`). Floats are not supported.
 */
import { InvalidArgumentError } from './errors.ts'

/** A Go value ready to be marshalled. */
export type GoValue =
  | { readonly kind: 'struct'; readonly fields: readonly GoField[] }
  | { readonly kind: 'string'; readonly value: string }
  | { readonly kind: 'int'; readonly value: bigint }
  | { readonly kind: 'bool'; readonly value: boolean }
  | { readonly kind: 'bytes'; readonly value: Uint8Array | null }
  | { readonly kind: 'slice'; readonly items: readonly GoInput[] | null }
  | { readonly kind: 'map'; readonly entries: ReadonlyMap<string, GoInput> | null }
  | { readonly kind: 'raw'; readonly json: string }
  | { readonly kind: 'nil' }

/** What may stand for a Go value: a constructed GoValue or a JS shorthand. */
export type GoInput = GoValue | string | boolean | bigint | number | Uint8Array | readonly GoInput[] | null | undefined

/** Struct tag options. `omitempty` drops false, 0, "", nil and empty slices/maps/strings. */
export interface FieldOpts {
  readonly omitempty?: boolean
}

/** One struct field: JSON name (the tag's name), value, tag options. */
export type GoField = readonly [name: string, value: GoInput, opts?: FieldOpts]

/** A struct; fields are emitted in the order given (Go declaration order). */
export function struct(fields: readonly GoField[]): GoValue {
  return { kind: 'struct', fields }
}

/** A Go string. */
export function str(value: string): GoValue {
  return { kind: 'string', value }
}

/** Any Go integer type (int, int32, int64, uint32, enum). Use bigint above 2^53. */
export function int64(value: bigint | number): GoValue {
  if (typeof value === 'number' && !Number.isSafeInteger(value)) {
    throw new InvalidArgumentError(`gojson: ${value} is not a safe integer; pass a bigint`)
  }
  return { kind: 'int', value: BigInt(value) }
}

/** A Go bool. */
export function bool(value: boolean): GoValue {
  return { kind: 'bool', value }
}

/** A Go []byte, marshalled as standard base64 with padding; null is a nil slice. */
export function bytes(value: Uint8Array | null): GoValue {
  return { kind: 'bytes', value }
}

/** A Go slice or array; null is a nil slice (`null`, dropped by omitempty). */
export function slice(items: readonly GoInput[] | null): GoValue {
  return { kind: 'slice', items }
}

/** A Go map[string]T; keys are emitted sorted by their bytes, as Go does. null is a nil map. */
export function map(entries: ReadonlyMap<string, GoInput> | Readonly<Record<string, GoInput>> | null): GoValue {
  if (entries === null) return { kind: 'map', entries: null }
  const m = entries instanceof Map ? entries : new Map(Object.entries(entries))
  return { kind: 'map', entries: m }
}

/** Pre-encoded JSON spliced in verbatim (json.RawMessage). */
export function raw(json: string): GoValue {
  return { kind: 'raw', json }
}

/** A nil pointer or nil interface: `null`, dropped by omitempty. */
export const nil: GoValue = { kind: 'nil' }

function toValue(v: GoInput): GoValue {
  if (v === null || v === undefined) return nil
  switch (typeof v) {
    case 'string':
      return str(v)
    case 'boolean':
      return bool(v)
    case 'bigint':
    case 'number':
      return int64(v)
    default:
      if (v instanceof Uint8Array) return bytes(v)
      if (Array.isArray(v)) return slice(v as readonly GoInput[])
      return v as GoValue
  }
}

/** Go's isEmptyValue, which decides omitempty. Structs are never empty. */
function isEmpty(v: GoValue): boolean {
  switch (v.kind) {
    case 'string':
      return v.value === ''
    case 'int':
      return v.value === 0n
    case 'bool':
      return !v.value
    case 'bytes':
      return v.value === null || v.value.length === 0
    case 'slice':
      return v.items === null || v.items.length === 0
    case 'map':
      return v.entries === null || v.entries.size === 0
    case 'nil':
      return true
    default:
      return false
  }
}

const HEX = '0123456789abcdef'

/**
 * A JSON string literal exactly as Go's encoding/json writes it: `"` and `\` escaped; `\b \f \n
 * \r \t` (Go ≥ 1.22) and other control characters as `\u00xx`; `<`, `>`, `&` as `\u003c`,
 * `\u003e`, `\u0026`; U+2028/U+2029 escaped; unpaired surrogates (invalid UTF-8) as `\ufffd`.
 */
export function goString(s: string): string {
  let out = '"'
  let start = 0
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i)
    let esc: string | undefined
    if (c < 0x20) {
      switch (c) {
        case 0x08: esc = '\\b'; break
        case 0x0c: esc = '\\f'; break
        case 0x0a: esc = '\\n'; break
        case 0x0d: esc = '\\r'; break
        case 0x09: esc = '\\t'; break
        default: esc = `\\u00${HEX[c >> 4]}${HEX[c & 15]}`
      }
    } else if (c === 0x22) esc = '\\"'
    else if (c === 0x5c) esc = '\\\\'
    else if (c === 0x3c) esc = '\\u003c'
    else if (c === 0x3e) esc = '\\u003e'
    else if (c === 0x26) esc = '\\u0026'
    else if (c === 0x2028) esc = '\\u2028'
    else if (c === 0x2029) esc = '\\u2029'
    else if (c >= 0xd800 && c <= 0xdfff) {
      const next = i + 1 < s.length ? s.charCodeAt(i + 1) : 0
      if (c <= 0xdbff && next >= 0xdc00 && next <= 0xdfff) {
        i++ // a valid pair: copied as is
        continue
      }
      esc = '\\ufffd'
    }
    if (esc !== undefined) {
      out += s.slice(start, i) + esc
      start = i + 1
    }
  }
  return `${out + s.slice(start)}"`
}

function encode(v: GoValue): string {
  switch (v.kind) {
    case 'string':
      return goString(v.value)
    case 'int':
      return v.value.toString(10)
    case 'bool':
      return v.value ? 'true' : 'false'
    case 'nil':
      return 'null'
    case 'raw':
      return v.json
    case 'bytes':
      return v.value === null ? 'null' : `"${Buffer.from(v.value.buffer, v.value.byteOffset, v.value.byteLength).toString('base64')}"`
    case 'slice':
      return v.items === null ? 'null' : `[${v.items.map((x) => encode(toValue(x))).join(',')}]`
    case 'map': {
      if (v.entries === null) return 'null'
      const keys = [...v.entries.keys()].sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b)))
      return `{${keys.map((k) => `${goString(k)}:${encode(toValue(v.entries?.get(k)))}`).join(',')}}`
    }
    case 'struct': {
      const parts: string[] = []
      for (const [name, input, opts] of v.fields) {
        const fv = toValue(input)
        if (opts?.omitempty === true && isEmpty(fv)) continue
        parts.push(`${goString(name)}:${encode(fv)}`)
      }
      return `{${parts.join(',')}}`
    }
  }
}

/** json.Marshal(value) as a string (UTF-8 when written out). */
export function goMarshal(value: GoInput): string {
  return encode(toValue(value))
}

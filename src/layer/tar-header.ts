/**
 * The tar header model and its byte encoding: POSIX ustar header blocks plus PAX extended
 * records. PAX records are built and parsed as Buffers so binary xattr values
 * (`SCHILY.xattr.<name>`) survive byte-exact. Values that do not fit a ustar field (long
 * names, uid/gid > 2097151, huge sizes, fractional mtimes) go into PAX, never clamped.
 */
import { FailedPreconditionError, InvalidArgumentError } from '../core/errors.ts'

export const BLOCK = 512

export type TarEntryType = 'file' | 'directory' | 'symlink' | 'link' | 'character-device' | 'block-device' | 'fifo'

export interface TarHeader {
  /** Relative path; directories conventionally end with `/`. */
  name: string
  type: TarEntryType
  /** Permission bits incl. setuid/setgid/sticky (`& 0o7777`). */
  mode: number
  uid: number
  gid: number
  /** Body size in bytes (0 for everything but regular files). */
  size: number
  /** Seconds since the epoch; may be fractional when read from PAX. */
  mtime: number
  linkname: string
  uname: string
  gname: string
  devmajor: number
  devminor: number
  /** Extended attributes, name → raw value. */
  xattrs: Map<string, Buffer>
}

/**
 * A header with defaults for everything but name and type, with its fields in the order the walk
 * builds its headers in (walk.ts), so that the tar encoder sees one object shape for both.
 */
export function makeHeader(h: Pick<TarHeader, 'name' | 'type'> & Partial<TarHeader>): TarHeader {
  return {
    name: h.name,
    type: h.type,
    mode: h.mode ?? 0o644,
    uid: h.uid ?? 0,
    gid: h.gid ?? 0,
    size: h.size ?? 0,
    mtime: h.mtime ?? 0,
    linkname: h.linkname ?? '',
    uname: h.uname ?? '',
    gname: h.gname ?? '',
    devmajor: h.devmajor ?? 0,
    devminor: h.devminor ?? 0,
    xattrs: h.xattrs ?? new Map(),
  }
}

const TYPEFLAG: Record<TarEntryType, string> = {
  file: '0',
  link: '1',
  symlink: '2',
  'character-device': '3',
  'block-device': '4',
  directory: '5',
  fifo: '6',
}

// ---------------------------------------------------------------- PAX records

/** One PAX record `"<len> <key>=<value>\n"`, where len counts the whole record. */
export function paxRecord(key: string, value: Buffer | string): Buffer {
  const k = Buffer.from(key, 'utf8')
  const v = typeof value === 'string' ? Buffer.from(value, 'utf8') : value
  const rest = k.length + v.length + 3 // ' ', '=', '\n'
  let len = rest + 1
  while (String(len).length + rest !== len) len = String(len).length + rest
  return Buffer.concat([Buffer.from(`${len} `), k, Buffer.from('='), v, Buffer.from('\n')])
}

/** Parses PAX records; values stay Buffers. Later records win. */
export function parsePax(data: Buffer, what: string): Map<string, Buffer> {
  const out = new Map<string, Buffer>()
  let off = 0
  while (off < data.length) {
    if (data[off] === 0) break // some writers pad with NULs
    const sp = data.indexOf(0x20, off)
    const len = sp < 0 ? Number.NaN : Number(data.toString('latin1', off, sp))
    if (!Number.isInteger(len) || len <= 0 || off + len > data.length || data[off + len - 1] !== 0x0a) {
      throw new FailedPreconditionError(`tar: malformed PAX record in ${what} at byte ${off}`, { code: 'ERR_LAYER_TAR_CORRUPT' })
    }
    const rec = data.subarray(sp + 1, off + len - 1)
    const eq = rec.indexOf(0x3d)
    if (eq < 0) throw new FailedPreconditionError(`tar: PAX record without '=' in ${what}`, { code: 'ERR_LAYER_TAR_CORRUPT' })
    out.set(rec.toString('utf8', 0, eq), Buffer.from(rec.subarray(eq + 1)))
    off += len
  }
  return out
}

// ---------------------------------------------------------------- encoding

/** The largest value an 8- or 12-byte numeric field holds (width-1 octal digits and a NUL). */
const OCTAL_MAX = { 8: 8 ** 7 - 1, 12: 8 ** 11 - 1 } as const

/** `value` (an integer that fits) as width-1 zero-padded octal digits and a NUL, digit by digit. */
function writeOctal(block: Buffer, off: number, width: number, value: number): void {
  let v = value
  for (let i = off + width - 2; i >= off; i--) {
    block[i] = 0x30 + (v % 8)
    v = Math.floor(v / 8)
  }
  block[off + width - 1] = 0
}

const USTAR_MAGIC = Buffer.from('ustar\x0000', 'latin1')

/** Whether `value` fits a ustar numeric field of `width` bytes (else the header needs a PAX record). */
export function fits(value: number, width: keyof typeof OCTAL_MAX): boolean {
  return Number.isInteger(value) && value >= 0 && value <= OCTAL_MAX[width]
}

/** Splits a long name into ustar prefix/name, or returns undefined. */
function splitUstar(name: Buffer): [Buffer, Buffer] | undefined {
  if (name.length <= 100) return [Buffer.alloc(0), name]
  if (name.length > 256) return undefined
  for (let i = Math.max(0, name.length - 101); i < Math.min(name.length, 156); i++) {
    if (name[i] === 0x2f && i > 0 && name.length - i - 1 <= 100 && name.length - i - 1 > 0) {
      return [name.subarray(0, i), name.subarray(i + 1)]
    }
  }
  return undefined
}

/** Writes one ustar header block into `b` at `at`; the 512 bytes there must be zero. */
function writeHeaderBlock(
  b: Buffer,
  at: number,
  h: TarHeader,
  typeflag: string,
  name: Buffer,
  prefix: Buffer,
  linkname: Buffer,
  num: { uid: number; gid: number; size: number; mtime: number },
): void {
  name.copy(b, at, 0, Math.min(100, name.length))
  writeOctal(b, at + 100, 8, h.mode & 0o7777)
  writeOctal(b, at + 108, 8, num.uid)
  writeOctal(b, at + 116, 8, num.gid)
  writeOctal(b, at + 124, 12, num.size)
  writeOctal(b, at + 136, 12, num.mtime)
  b[at + 156] = typeflag.charCodeAt(0)
  linkname.copy(b, at + 157, 0, Math.min(100, linkname.length))
  USTAR_MAGIC.copy(b, at + 257)
  if (h.uname !== '') b.write(h.uname, at + 265, 31, 'utf8')
  if (h.gname !== '') b.write(h.gname, at + 297, 31, 'utf8')
  if (h.type === 'character-device' || h.type === 'block-device') {
    writeOctal(b, at + 329, 8, h.devmajor)
    writeOctal(b, at + 337, 8, h.devminor)
  }
  prefix.copy(b, at + 345, 0, Math.min(155, prefix.length))
  b.fill(0x20, at + 148, at + 156)
  let sum = 0
  for (let i = at; i < at + BLOCK; i++) sum += b[i] as number
  writeOctal(b, at + 148, 7, sum) // six digits and a NUL, then a space, as GNU tar writes it
  b[at + 155] = 0x20
}

function headerBlock(...args: Parameters<typeof writeHeaderBlock> extends [Buffer, number, ...infer R] ? R : never): Buffer {
  const b = Buffer.alloc(BLOCK)
  writeHeaderBlock(b, 0, ...args)
  return b
}

/** Zero padding that brings a body of `size` bytes up to a block boundary. */
export function padding(size: number): Buffer {
  const rem = size % BLOCK
  return rem === 0 ? Buffer.alloc(0) : Buffer.alloc(BLOCK - rem)
}

/** The end-of-archive marker: two zero blocks. */
export const END_OF_ARCHIVE = Buffer.alloc(2 * BLOCK)

interface HeaderPlan {
  recs: Buffer[]
  name: Buffer
  prefix: Buffer
  link: Buffer
  num: { uid: number; gid: number; size: number; mtime: number }
}

const NUMERIC_FIELDS = [
  ['uid', 8],
  ['gid', 8],
  ['size', 12],
  ['mtime', 12],
] as const

/** What a header needs: the PAX records for what does not fit ustar, and the ustar fields. */
function planHeader(h: TarHeader): HeaderPlan {
  if (h.name === '') throw new InvalidArgumentError('tar: entry with empty name')
  if (h.name.includes('\0') || h.linkname.includes('\0')) throw new InvalidArgumentError(`tar: NUL in name ${JSON.stringify(h.name)}`)
  const recs: Buffer[] = []
  const nameBuf = Buffer.from(h.name, 'utf8')
  let split = splitUstar(nameBuf)
  if (split === undefined) {
    recs.push(paxRecord('path', nameBuf))
    split = [EMPTY, nameBuf.subarray(0, 100)]
  }
  let link = h.linkname === '' ? EMPTY : Buffer.from(h.linkname, 'utf8')
  if (link.length > 100) {
    recs.push(paxRecord('linkpath', link))
    link = link.subarray(0, 100)
  }
  const num = { uid: h.uid, gid: h.gid, size: h.size, mtime: h.mtime }
  for (const [key, width] of NUMERIC_FIELDS) {
    const v = h[key]
    if (!Number.isFinite(v) || (key !== 'mtime' && (v < 0 || !Number.isInteger(v)))) {
      throw new InvalidArgumentError(`tar: invalid ${key} ${v} for ${JSON.stringify(h.name)}`)
    }
    if (!fits(v, width)) {
      recs.push(paxRecord(key, key === 'mtime' ? formatPaxTime(v) : String(v)))
      num[key] = fits(Math.floor(v), width) ? Math.floor(v) : 0
    }
  }
  if (Buffer.byteLength(h.uname) > 31) recs.push(paxRecord('uname', h.uname))
  if (Buffer.byteLength(h.gname) > 31) recs.push(paxRecord('gname', h.gname))
  if (h.xattrs.size > 0) for (const name of [...h.xattrs.keys()].sort()) recs.push(paxRecord(`SCHILY.xattr.${name}`, h.xattrs.get(name) as Buffer))
  return { recs, name: split[1], prefix: split[0], link, num }
}

const EMPTY = Buffer.alloc(0)

/**
 * Encodes one entry's header: an optional PAX `x` header (+ its padded data) followed by the
 * ustar header block. The body (h.size bytes) and `padding(h.size)` follow it on the wire.
 */
export function encodeHeader(h: TarHeader): Buffer {
  const p = planHeader(h)
  const main = headerBlock(h, TYPEFLAG[h.type], p.name, p.prefix, p.link, p.num)
  if (p.recs.length === 0) return main
  const data = Buffer.concat(p.recs)
  const base = h.name.replace(/\/+$/, '').split('/').pop() ?? 'entry'
  const paxName = Buffer.from(`PaxHeaders/${base.replace(/[^\x20-\x7e]/g, '_')}`.slice(0, 100), 'latin1')
  const paxHdr = headerBlock(makeHeader({ name: '', type: 'file', mode: 0o644 }), 'x', paxName, EMPTY, EMPTY, {
    uid: 0,
    gid: 0,
    size: data.length,
    mtime: p.num.mtime,
  })
  return Buffer.concat([paxHdr, data, padding(data.length), main])
}

/**
 * Writes `h` straight into `target` at `at` when it is one ustar block (no PAX records) and fits;
 * returns false otherwise, for the caller to use encodeHeader. The same bytes either way.
 */
export function encodeHeaderInto(h: TarHeader, target: Buffer, at: number): boolean {
  if (at + BLOCK > target.length) return false
  const p = planHeader(h)
  if (p.recs.length > 0) return false
  target.fill(0, at, at + BLOCK)
  writeHeaderBlock(target, at, h, TYPEFLAG[h.type], p.name, p.prefix, p.link, p.num)
  return true
}

function formatPaxTime(t: number): string {
  if (Number.isInteger(t)) return String(t)
  const s = t.toFixed(9).replace(/0+$/, '')
  return s.endsWith('.') ? s.slice(0, -1) : s
}

/**
 * Decoding of 512-byte tar header blocks: ustar and GNU magic, octal and GNU base-256
 * numbers, checksum verification. PAX records are parsed in tar-header.ts.
 */
import { FailedPreconditionError } from '../core/errors.ts'
import { BLOCK, type TarEntryType } from './tar-header.ts'

/** Parses an octal or GNU base-256 numeric field. */
export function parseNumeric(b: Buffer, off: number, width: number): number {
  const f = b.subarray(off, off + width)
  if (f[0] & 0x80) {
    // base-256: big-endian two's complement with the high bit of the first byte as marker
    const negative = (f[0] & 0x40) !== 0
    let v = 0n
    for (let i = 0; i < f.length; i++) v = (v << 8n) | BigInt(i === 0 ? f[0] & 0x7f : f[i])
    if (negative) v -= 1n << BigInt(8 * f.length - 1)
    return Number(v)
  }
  const z = f.indexOf(0)
  const s = f.toString('latin1', 0, z < 0 ? width : z).trim()
  if (s === '') return 0
  if (!/^[0-7]+$/.test(s)) throw new FailedPreconditionError(`tar: invalid numeric field ${JSON.stringify(s)}`, { code: 'ERR_LAYER_TAR_CORRUPT' })
  return Number.parseInt(s, 8)
}

function cstr(b: Buffer, off: number, width: number): string {
  const f = b.subarray(off, off + width)
  const z = f.indexOf(0)
  return f.toString('utf8', 0, z < 0 ? width : z)
}

export function isZeroBlock(b: Buffer): boolean {
  for (let i = 0; i < BLOCK; i++) if (b[i] !== 0) return false
  return true
}

/** Validates the checksum (unsigned, or signed as some historic writers did). */
export function checksumOk(b: Buffer): boolean {
  const stored = parseNumeric(b, 148, 8)
  let u = 0
  let s = 0
  for (let i = 0; i < BLOCK; i++) {
    const c = i >= 148 && i < 156 ? 0x20 : b[i]
    u += c
    s += c > 127 ? c - 256 : c
  }
  return stored === u || stored === s
}

export interface RawHeader {
  typeflag: string
  name: string
  linkname: string
  mode: number
  uid: number
  gid: number
  size: number
  mtime: number
  uname: string
  gname: string
  devmajor: number
  devminor: number
}

/** Decodes a 512-byte header block (checksum must already be verified). */
export function decodeBlock(b: Buffer): RawHeader {
  const magic = b.toString('latin1', 257, 263)
  let name = cstr(b, 0, 100)
  if (magic === 'ustar\0') {
    const prefix = cstr(b, 345, 155)
    if (prefix !== '') name = `${prefix}/${name}`
  }
  const ustarish = magic.startsWith('ustar')
  return {
    typeflag: String.fromCharCode(b[156] === 0 ? 0x30 : b[156]),
    name,
    linkname: cstr(b, 157, 100),
    mode: parseNumeric(b, 100, 8) & 0o7777,
    uid: parseNumeric(b, 108, 8),
    gid: parseNumeric(b, 116, 8),
    size: parseNumeric(b, 124, 12),
    mtime: parseNumeric(b, 136, 12),
    uname: ustarish ? cstr(b, 265, 32) : '',
    gname: ustarish ? cstr(b, 297, 32) : '',
    devmajor: ustarish ? parseNumeric(b, 329, 8) : 0,
    devminor: ustarish ? parseNumeric(b, 337, 8) : 0,
  }
}

export const TYPE_OF_FLAG: Readonly<Record<string, TarEntryType>> = {
  '0': 'file',
  '7': 'file',
  '1': 'link',
  '2': 'symlink',
  '3': 'character-device',
  '4': 'block-device',
  '5': 'directory',
  '6': 'fifo',
}

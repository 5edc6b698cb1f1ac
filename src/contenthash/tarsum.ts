/**
 * BuildKit's per-entry digest ("tarsum v1" header selection, cache/contenthash/tarsum.go and
 * filehash.go): sha256 over `name`"" `mode` `uid` `gid` `size` `typeflag` `linkname` `uname`""
 * `gname`"" `devmajor` `devminor` (label then value, no separators), then the filtered xattrs in
 * sorted order (name then value), then the file bytes for non-empty regular files.
 */
import { createHash, type Hash } from 'node:crypto'
import { type Digest, digestFromHash } from '../core/digest.ts'

/** Tar typeflags BuildKit produces via archive/tar.FileInfoHeader. */
export type Typeflag = '0' | '2' | '3' | '4' | '5' | '6'

/** The metadata that enters an entry digest. */
export interface EntryMeta {
  /** Permission bits plus setuid 0o4000 / setgid 0o2000 / sticky 0o1000. */
  mode: number
  uid: number
  gid: number
  typeflag: Typeflag
  /** Byte length; only hashed for regular files (typeflag `0`), 0 otherwise. */
  size: number | bigint
  /** Symlink target, verbatim; empty for everything else. */
  linkname: string
  devmajor: number | bigint
  devminor: number | bigint
  /** Extended attributes; filtered by {@link hashedXattrNames}. */
  xattrs?: ReadonlyMap<string, Uint8Array> | undefined
}

/** Names kept by tarsum v1: not `security.*` / `system.*`, except `security.capability`; sorted. */
export function hashedXattrNames(names: Iterable<string>): string[] {
  const keep: string[] = []
  for (const k of names) {
    if (k === 'security.capability' || (!k.startsWith('security.') && !k.startsWith('system.'))) keep.push(k)
  }
  return keep.sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b)))
}

/** A sha256 primed with the tarsum v1 header of `meta`; feed file bytes, then finish with digestFromHash. */
export function headerHash(meta: EntryMeta): Hash {
  const h = createHash('sha256')
  const size = meta.typeflag === '0' ? meta.size : 0
  const link = meta.typeflag === '2' ? meta.linkname : ''
  h.update(`namemode${meta.mode}uid${meta.uid}gid${meta.gid}size${size}typeflag${meta.typeflag}linkname${link}unamegnamedevmajor${meta.devmajor}devminor${meta.devminor}`)
  if (meta.xattrs !== undefined && meta.xattrs.size > 0) {
    for (const k of hashedXattrNames(meta.xattrs.keys())) {
      h.update(k)
      const v = meta.xattrs.get(k)
      if (v !== undefined) h.update(v)
    }
  }
  return h
}

/** The entry digest of `meta` with the given content (regular files only). */
export function entryDigest(meta: EntryMeta, content?: Uint8Array | string): Digest {
  const h = headerHash(meta)
  if (meta.typeflag === '0' && content !== undefined && content.length > 0) h.update(content)
  return digestFromHash(h)
}

const S_IFMT = 0o170000

/**
 * Typeflag from a POSIX st_mode, as archive/tar.FileInfoHeader decides it after BuildKit clears
 * the socket bit (a socket becomes a regular file).
 */
export function typeflagOf(stMode: number): Typeflag {
  switch (stMode & S_IFMT) {
    case 0o040000:
      return '5'
    case 0o120000:
      return '2'
    case 0o020000:
      return '3'
    case 0o060000:
      return '4'
    case 0o010000:
      return '6'
    default:
      return '0'
  }
}

/** Linux dev_t split as fsutil does it. */
export function devNumbers(rdev: bigint): [major: bigint, minor: bigint] {
  return [(rdev >> 8n) & 0xfffn, (rdev & 0xffn) | ((rdev >> 12n) & 0xfff00n)]
}

/**
 * The deterministic tree walker behind layer packing. Visits a directory depth-first with
 * each directory's names sorted by byte order (parents before children, as BuildKit and
 * containerd do) and turns every path into a tar entry with a fixed mtime, empty
 * uname/gname and uid/gid/mode from lstat. In `overlay` mode the tree is an overlayfs upper
 * dir: char devices 0:0 become `.wh.<name>` whiteouts and opaque dirs get a
 * `<dir>/.wh..wh..opq` marker right after the dir entry.
 */
import { lstatSync, readdirSync, readlinkSync, type Stats } from 'node:fs'
import { type AbortFlag, FailedPreconditionError, withAbortFlag } from '../core/errors.ts'
import { xattr } from '../core/native.ts'
import { makeHeader, type TarHeader } from './tar-header.ts'

export type WalkMode = 'overlay' | 'plain'

export interface WalkOptions {
  /** `overlay` (default) interprets overlayfs whiteouts and opaque dirs; `plain` packs as is. */
  mode?: WalkMode
  /** The mtime (seconds) of every entry; default 0. */
  mtime?: number
  /** Return true to leave a path (and, for a dir, everything below it) out. Gets `etc/passwd`. */
  exclude?: (relPath: string) => boolean
  signal?: AbortSignal
}

export const WHITEOUT_PREFIX = '.wh.'
/** What to do about an upper dir using overlay features a layer cannot carry. */
export const OVERLAY_FEATURE_HINT = 'mount overlayfs with redirect_dir=off,metacopy=off so upper dirs can be diffed'
export const OPAQUE_MARKER = '.wh..wh..opq'

/**
 * One entry of a layer: its tar header and, for a regular file, where its body is read from. The
 * walk itself reads no file: the tar writer reads each body straight into its output blocks
 * (tar-blocks.ts), so file data is copied once, by the kernel.
 */
export interface LayerEntry {
  header: TarHeader
  /** The absolute path of a regular file's body (`header.size` bytes). */
  file?: string
}

/** Overlay-internal xattrs: never copied into a layer. */
export function isOverlayXattr(name: string): boolean {
  return name.startsWith('trusted.overlay.') || name.startsWith('user.overlay.')
}

/** Names sorted by their UTF-8 bytes (JS string order agrees for ASCII, the usual case). */
export function sortByBytes(names: string[]): string[] {
  // biome-ignore lint/suspicious/noControlCharactersInRegex: the ASCII range
  if (names.every((n) => /^[\x00-\x7f]*$/.test(n))) return names.sort()
  return names
    .map((n) => ({ n, b: Buffer.from(n, 'utf8') }))
    .sort((x, y) => Buffer.compare(x.b, y.b))
    .map((x) => x.n)
}

function xattrValue(path: string, name: string): string | undefined {
  try {
    return xattr().getAttributeSync(path, name)?.toString('latin1')
  } catch {
    return undefined
  }
}

/** What most entries carry: nothing (shared, never modified). */
const NO_XATTRS: { kept: Map<string, Buffer>; overlayNames: string[] } = { kept: new Map(), overlayNames: [] }

function readXattrs(path: string, overlay: boolean): { kept: Map<string, Buffer>; overlayNames: string[] } {
  let names: string[]
  try {
    names = xattr().listAttributesSync(path)
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code
    if (code === 'ENOTSUP' || code === 'EOPNOTSUPP') return NO_XATTRS
    throw err
  }
  if (names.length === 0) return NO_XATTRS
  const kept = new Map<string, Buffer>()
  const overlayNames: string[] = []
  for (const name of names.sort()) {
    if (isOverlayXattr(name)) {
      if (overlay) overlayNames.push(name)
      continue
    }
    const v = xattr().getAttributeSync(path, name)
    if (v !== null) kept.set(name, Buffer.from(v))
  }
  return { kept, overlayNames }
}

/** Linux `major()`/`minor()` of a dev_t. */
export function devMajor(rdev: bigint): number {
  return Number(((rdev >> 8n) & 0xfffn) | ((rdev >> 32n) & ~0xfffn))
}
export function devMinor(rdev: bigint): number {
  return Number((rdev & 0xffn) | ((rdev >> 12n) & ~0xffn))
}

interface WalkState {
  root: string
  overlay: boolean
  mtime: number
  exclude: ((relPath: string) => boolean) | undefined
  links: Map<string, string>
}

/** An entry's header from its lstat: one object literal per entry (the walk makes thousands). */
function base(st: Stats, s: WalkState, name: string, type: TarHeader['type'], more: Partial<TarHeader> = {}): TarHeader {
  return {
    name,
    type,
    mode: Number(st.mode) & 0o7777,
    uid: Number(st.uid),
    gid: Number(st.gid),
    size: more.size ?? 0,
    mtime: s.mtime,
    linkname: more.linkname ?? '',
    uname: '',
    gname: '',
    devmajor: more.devmajor ?? 0,
    devminor: more.devminor ?? 0,
    xattrs: more.xattrs ?? NO_XATTRS.kept,
  }
}

function marker(name: string, mtime: number): LayerEntry {
  return { header: makeHeader({ name, type: 'file', mode: 0, mtime }) }
}

/**
 * Synchronous, like every fs call here: each is a few µs on a warm cache, while the async versions
 * are latency-bound (one thread-pool round trip per call left the walk ~75% idle). `abort` is an
 * argument, not a field of the walk's state: a new object in a field of a new state object
 * deoptimised the walk at the next layer (see AbortFlag).
 */
function* walkDir(abort: AbortFlag, s: WalkState, rel: string): Generator<LayerEntry> {
  const names = sortByBytes(readdirSync(rel === '' ? s.root : `${s.root}/${rel}`))
  for (const name of names) {
    abort.throwIfAborted()
    const childRel = rel === '' ? name : `${rel}/${name}`
    if (s.exclude?.(childRel) === true) continue
    const abs = `${s.root}/${childRel}` // names from readdir: no normalising needed
    const st = lstatSync(abs)
    const { kept: xattrs, overlayNames } = readXattrs(abs, s.overlay)
    if (s.overlay) {
      const isWhiteout =
        (st.isCharacterDevice() && st.rdev === 0) || (st.isFile() && st.size === 0 && overlayNames.some((n) => n.endsWith('.overlay.whiteout')))
      if (isWhiteout) {
        yield marker(`${rel === '' ? '' : `${rel}/`}${WHITEOUT_PREFIX}${name}`, s.mtime)
        continue
      }
      const unsupported = overlayNames.find((n) => /\.overlay\.(redirect|metacopy)$/.test(n))
      if (unsupported !== undefined) {
        throw new FailedPreconditionError(`layer: ${JSON.stringify(childRel)} in upper dir ${s.root} carries ${unsupported}`, {
          code: 'ERR_LAYER_OVERLAY_FEATURE',
          hint: OVERLAY_FEATURE_HINT,
        })
      }
    }
    if (st.isDirectory()) {
      yield { header: base(st, s, `${childRel}/`, 'directory', { xattrs }) }
      if (s.overlay && overlayNames.some((n) => n.endsWith('.overlay.opaque') && xattrValue(abs, n) === 'y')) {
        yield marker(`${childRel}/${OPAQUE_MARKER}`, s.mtime)
      }
      yield* walkDir(abort, s, childRel)
      continue
    }
    if (st.nlink > 1 && !st.isSocket()) {
      const key = `${st.dev}:${st.ino}`
      const first = s.links.get(key)
      if (first !== undefined) {
        yield { header: base(st, s, childRel, 'link', { linkname: first }) }
        continue
      }
      s.links.set(key, childRel)
    }
    if (st.isFile()) {
      yield { header: base(st, s, childRel, 'file', { size: st.size, xattrs }), file: abs }
    } else if (st.isSymbolicLink()) {
      yield { header: base(st, s, childRel, 'symlink', { linkname: readlinkSync(abs), xattrs }) }
    } else if (st.isCharacterDevice() || st.isBlockDevice()) {
      const type = st.isCharacterDevice() ? 'character-device' : 'block-device'
      yield { header: base(st, s, childRel, type, { devmajor: devMajor(BigInt(st.rdev)), devminor: devMinor(BigInt(st.rdev)), xattrs }) }
    } else if (st.isFIFO()) {
      yield { header: base(st, s, childRel, 'fifo', { xattrs }) }
    }
    // sockets are not representable in a layer and are skipped, as containerd does
  }
}

/** The entries of a layer tar for `root`, in deterministic order. */
export function walkLayerEntries(root: string, opts: WalkOptions = {}): Generator<LayerEntry> {
  const state = { root, overlay: (opts.mode ?? 'overlay') === 'overlay', mtime: opts.mtime ?? 0, exclude: opts.exclude, links: new Map() }
  return withAbortFlag(opts.signal, walkDir, state, '')
}

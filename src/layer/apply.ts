/**
 * Apply layer → snapshot dir. Extracts an uncompressed OCI layer tar into `destDir` while
 * hashing it (diffID). `overlay` mode prepares an overlayfs lowerdir (whiteouts become 0:0
 * char devices, opaque markers set `trusted.overlay.opaque=y`); `plain` mode flattens onto a
 * rootfs (whiteouts delete, opaque markers empty the dir of older content). Nothing is ever
 * written outside destDir: see safe-path.ts. Metadata calls and small files use synchronous
 * fs calls (latency-bound otherwise); bodies above 1 MiB stream asynchronously.
 */
import { createHash } from 'node:crypto'
import {
  chmodSync,
  createWriteStream,
  lchownSync,
  linkSync,
  lstatSync,
  lutimesSync,
  mkdirSync,
  readdirSync,
  rmSync,
  type Stats,
  symlinkSync,
  writeFileSync,
} from 'node:fs'
import { realpath } from 'node:fs/promises'
import { posix } from 'node:path'
import type { Readable } from 'node:stream'
import { pipeline } from 'node:stream/promises'
import { xattr } from '../core/native.ts'
import { type Digest, digestFromHash } from '../core/digest.ts'
import { ConfinedRoot, normalizeEntryPath, refuse } from './safe-path.ts'
import { makeDevice, makeFifo, WhiteoutMaker } from './special-files.ts'
import type { TarHeader } from './tar-header.ts'
import { readTar } from './tar-reader.ts'
import { isOverlayXattr, OPAQUE_MARKER, WHITEOUT_PREFIX } from './walk.ts'

export interface ApplyOptions {
  mode: 'overlay' | 'plain'
  signal?: AbortSignal
}

export interface ApplyResult {
  /** sha256 of the uncompressed tar bytes. */
  diffID: Digest
  /** Uncompressed tar size in bytes. */
  size: number
}

const SMALL_FILE = 1024 * 1024
const UMASK = process.umask()
const IS_ROOT = process.getuid?.() === 0 && process.getgid?.() === 0

interface DirMeta {
  abs: string
  mode: number
  mtime: number
}

async function readSmall(body: Readable, size: number): Promise<Buffer> {
  const parts: Buffer[] = []
  for await (const c of body) parts.push(c as Buffer)
  return Buffer.concat(parts, size)
}

class Extractor {
  readonly #r: ConfinedRoot
  readonly #overlay: boolean
  readonly #whiteouts: WhiteoutMaker
  readonly #unpacked = new Set<string>()
  readonly #dirs: DirMeta[] = []
  constructor(root: string, mode: ApplyOptions['mode']) {
    this.#r = new ConfinedRoot(root)
    this.#r.onImplicitDir = (rel) => this.#unpacked.add(rel)
    this.#overlay = mode === 'overlay'
    this.#whiteouts = new WhiteoutMaker(root)
  }

  async entry(h: TarHeader, body: Readable): Promise<void> {
    const rel = normalizeEntryPath(h.name)
    if (rel === '') return // the root itself: destDir keeps its own metadata
    const base = posix.basename(rel)
    const parent = posix.dirname(rel) === '.' ? '' : posix.dirname(rel)
    if (base === OPAQUE_MARKER) return this.#opaque(parent, h.name)
    if (base.startsWith(WHITEOUT_PREFIX)) return this.#whiteout(parent, base.slice(WHITEOUT_PREFIX.length), h.name)
    const isDir = h.type === 'directory'
    const abs = this.#r.abs(rel)
    this.#r.ensureParents(rel, h.name, true)
    const existingDir = this.#clear(rel, isDir)
    this.#unpacked.add(rel)
    switch (h.type) {
      case 'directory':
        if (!existingDir) mkdirSync(abs, 0o700)
        this.#r.markDir(rel)
        lchownSync(abs, h.uid, h.gid)
        this.#xattrs(abs, h, false)
        this.#dirs.push({ abs, mode: h.mode, mtime: h.mtime })
        return
      case 'file': {
        // created with its final mode when the umask keeps it whole (no chmod needed then)
        const plainMode = (h.mode & ~0o777) === 0 && (h.mode & ~UMASK) === h.mode
        const mode = plainMode ? h.mode : 0o600
        if (h.size <= SMALL_FILE) writeFileSync(abs, await readSmall(body, h.size), { flag: 'wx', mode })
        else await pipeline(body, createWriteStream(abs, { flags: 'wx', mode }))
        // a file root just created is root's: chown only for other owners
        if (!(IS_ROOT && h.uid === 0 && h.gid === 0)) lchownSync(abs, h.uid, h.gid)
        if (!plainMode || !(IS_ROOT && h.uid === 0 && h.gid === 0)) chmodSync(abs, h.mode) // chown clears setuid/setgid
        this.#xattrs(abs, h, false)
        lutimesSync(abs, h.mtime, h.mtime)
        return
      }
      case 'symlink':
        symlinkSync(h.linkname, abs)
        lchownSync(abs, h.uid, h.gid)
        this.#xattrs(abs, h, true)
        lutimesSync(abs, h.mtime, h.mtime)
        return
      case 'link':
        return this.#hardlink(rel, h)
      case 'character-device':
      case 'block-device':
        await makeDevice(abs, h.type === 'character-device' ? 'c' : 'b', h.devmajor, h.devminor)
        break
      case 'fifo':
        await makeFifo(abs)
        break
    }
    lchownSync(abs, h.uid, h.gid) // before chmod: chown clears setuid/setgid
    chmodSync(abs, h.mode)
    this.#xattrs(abs, h, false) // after chown, which drops security.capability
    lutimesSync(abs, h.mtime, h.mtime)
  }

  /** Removes whatever is at `rel` unless it is a dir and `keepDir`; returns true if a dir was kept. */
  #clear(rel: string, keepDir: boolean): boolean {
    // no exception for the usual case (nothing there yet): a thrown ENOENT costs more than the lstat
    const st = lstatSync(this.#r.abs(rel), { throwIfNoEntry: false })
    if (st === undefined) return false
    if (st.isDirectory() && keepDir) return true
    rmSync(this.#r.abs(rel), { recursive: st.isDirectory(), force: true })
    this.#r.forget(rel)
    return false
  }

  #xattrs(abs: string, h: TarHeader, isSymlink: boolean): void {
    for (const [name, value] of h.xattrs) {
      if (isOverlayXattr(name)) continue // a layer must not forge overlay metadata
      try {
        xattr().setAttributeSync(abs, name, value)
      } catch (err) {
        if (isSymlink && name.startsWith('user.')) continue // the kernel refuses user.* on symlinks
        throw refuse(h.name, `cannot set xattr ${name}: ${(err as Error).message}`)
      }
    }
  }

  async #hardlink(rel: string, h: TarHeader): Promise<void> {
    const target = normalizeEntryPath(h.linkname, h.name)
    if (target === '' || target === rel || !this.#unpacked.has(target)) {
      throw refuse(h.name, `hardlink target ${JSON.stringify(h.linkname)} was not extracted earlier from this layer`)
    }
    this.#r.ensureParents(target, h.name, false)
    const st = lstatSync(this.#r.abs(target))
    if (st.isDirectory()) throw refuse(h.name, 'hardlink to a directory')
    linkSync(this.#r.abs(target), this.#r.abs(rel))
  }

  async #whiteout(parent: string, name: string, entry: string): Promise<void> {
    if (name === '' || name === '.' || name === '..' || name.includes('/')) throw refuse(entry, 'invalid whiteout name')
    const rel = parent === '' ? name : `${parent}/${name}`
    if (this.#overlay) {
      this.#r.ensureParents(rel, entry, true)
      this.#clear(rel, false)
      await this.#whiteouts.make(this.#r.abs(rel))
      return
    }
    if (!this.#parentExists(rel, entry)) return
    this.#clear(rel, false)
  }

  async #opaque(dir: string, entry: string): Promise<void> {
    const probe = dir === '' ? OPAQUE_MARKER : `${dir}/${OPAQUE_MARKER}`
    if (this.#overlay) {
      this.#r.ensureParents(probe, entry, true)
      xattr().setAttributeSync(this.#r.abs(dir), 'trusted.overlay.opaque', 'y')
      return
    }
    if (!this.#parentExists(probe, entry)) return
    for (const child of readdirSync(this.#r.abs(dir))) {
      const rel = dir === '' ? child : `${dir}/${child}`
      if (!this.#unpacked.has(rel)) this.#clear(rel, false)
    }
  }

  #parentExists(rel: string, entry: string): boolean {
    try {
      this.#r.ensureParents(rel, entry, false)
      return true
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return false
      throw err
    }
  }

  /** Directory modes and mtimes last (children change them), deepest first. */
  async finish(): Promise<void> {
    for (let i = this.#dirs.length - 1; i >= 0; i--) {
      const d = this.#dirs[i]
      chmodSync(d.abs, d.mode)
      lutimesSync(d.abs, d.mtime, d.mtime)
    }
  }

  async dispose(): Promise<void> {
    await this.#whiteouts.dispose()
  }
}

/** Extracts an uncompressed layer tar into `destDir`; returns its diffID and size. */
export async function applyLayer(tar: Readable, destDir: string, opts: ApplyOptions): Promise<ApplyResult> {
  const root = await realpath(destDir)
  const hash = createHash('sha256')
  let size = 0
  const x = new Extractor(root, opts.mode)
  try {
    const readOpts = {
      onChunk: (c: Buffer) => {
        hash.update(c)
        size += c.length
      },
      ...(opts.signal === undefined ? {} : { signal: opts.signal }),
    }
    for await (const { header, body } of readTar(tar, readOpts)) await x.entry(header, body)
    await x.finish()
  } finally {
    await x.dispose()
  }
  return { diffID: digestFromHash(hash), size }
}

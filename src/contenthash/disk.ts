/**
 * A {@link TreeSource} over a real directory, read lazily (a directory is listed when a query
 * first needs it) with BuildKit's metadata conventions:
 * - `snapshot`: real lstat (uid/gid, mode, xattrs), symlinks forced to 0777 (NewFileHash);
 * - `context`: a local build context as BuildKit's client sends it (fsutil mkstat, uid/gid reset
 *   to 0 by prepareSyncedFiles, `com.apple.*` xattrs skipped, the root header faked as
 *   sha256("")), with filtered entries absent.
 */
import { type BigIntStats, close, closeSync, lstatSync, open, openSync, read, readdirSync, readlinkSync, readSync, statSync } from 'node:fs'
import { join } from 'node:path'
import { xattr } from '../core/native.ts'
import { type Digest, digestFromHash, EMPTY_DIGEST } from '../core/digest.ts'
import type { ContextFilter, FilterState } from './filter.ts'
import type { FileIdentity, HashMemo } from './memo.ts'
import { devNumbers, type EntryMeta, headerHash, typeflagOf } from './tarsum.ts'
import type { NodeType, TreeNode, TreeSource } from './tree.ts'

export interface DiskSourceOptions {
  mode: 'snapshot' | 'context'
  /** Context mode only: which entries the client would send. */
  filter?: ContextFilter | undefined
  memo?: HashMemo | undefined
  /** Files read at the same time. Default 16. */
  concurrency?: number
}

export interface DiskData {
  readonly stat: BigIntStats
  readonly state: FilterState | undefined
}

const S_IFMT = 0o170000n
const BUF_SIZE = 128 * 1024
/** Files up to this size are read synchronously: a thread-pool round trip costs more than the read. */
const SYNC_MAX = 256 * 1024

function readIntoSync(path: string, buf: Buffer, update: (chunk: Buffer) => void): void {
  const fd = openSync(path, 'r')
  try {
    for (let n = readSync(fd, buf, 0, buf.length, null); n > 0; n = readSync(fd, buf, 0, buf.length, null)) update(buf.subarray(0, n))
  } finally {
    closeSync(fd)
  }
}

/** Reads a whole file into `update` through `buf` with fs.read (no streams). */
function readInto(path: string, buf: Buffer, update: (chunk: Buffer) => void): Promise<void> {
  return new Promise((resolve, reject) => {
    open(path, 'r', (err, fd) => {
      if (err) return reject(err)
      const done = (e: Error | null) => close(fd, (ce) => (e ?? ce ? reject(e ?? ce) : resolve()))
      const step = (): void =>
        read(fd, buf, 0, buf.length, null, (re, n) => {
          if (re || n === 0) return done(re)
          update(buf.subarray(0, n))
          step()
        })
      step()
    })
  })
}

function readXattrs(path: string, context: boolean): Map<string, Uint8Array> | undefined {
  let names: string[]
  try {
    names = xattr().listAttributesSync(path)
  } catch {
    return undefined // ENOTSUP and friends: no xattrs
  }
  if (names.length === 0) return undefined
  const out = new Map<string, Uint8Array>()
  for (const name of names) {
    if (context && name.startsWith('com.apple.')) continue
    try {
      const v = xattr().getAttributeSync(path, name)
      if (v !== null) out.set(name, v)
    } catch {
      // vanished or unreadable: BuildKit skips it too
    }
  }
  return out
}

export class DiskSource implements TreeSource<DiskData> {
  readonly root: TreeNode<DiskData>
  readonly #dir: string
  readonly #opts: DiskSourceOptions
  readonly #listings = new Map<TreeNode<DiskData>, TreeNode<DiskData>[]>()
  readonly #inodes = new Map<string, Promise<Digest>>()
  readonly #buffers: Buffer[] = []
  readonly #waiters: (() => void)[] = []
  #active = 0

  constructor(dir: string, opts: DiskSourceOptions) {
    this.#dir = dir
    this.#opts = opts
    this.root = { name: '', path: '/', type: 'dir', linkname: '', data: { stat: statSync(dir, { bigint: true }), state: undefined } }
  }

  #abs(node: TreeNode<DiskData>): string {
    return node.path === '/' ? this.#dir : join(this.#dir, node.path)
  }

  list(dir: TreeNode<DiskData>): readonly TreeNode<DiskData>[] {
    const cached = this.#listings.get(dir)
    if (cached !== undefined) return cached
    const abs = this.#abs(dir)
    const filter = this.#opts.mode === 'context' ? this.#opts.filter : undefined
    const out: TreeNode<DiskData>[] = []
    for (const name of readdirSync(abs)) {
      const full = join(abs, name)
      const stat = lstatSync(full, { bigint: true })
      const fmt = stat.mode & S_IFMT
      const type: NodeType = fmt === 0o040000n ? 'dir' : fmt === 0o120000n ? 'symlink' : 'file'
      const path = dir.path === '/' ? `/${name}` : `${dir.path}/${name}`
      let state: FilterState | undefined
      let tentative = false
      if (filter !== undefined) {
        const d = filter.visit(path.slice(1), type === 'dir', dir.data.state)
        if (!d.include && !d.descend) continue
        state = d.state
        tentative = !d.include
      }
      const linkname = type === 'symlink' ? readlinkSync(full) : ''
      const node: TreeNode<DiskData> = { name, path, type, linkname, data: { stat, state } }
      // An excluded directory that was walked exists only if something inside it is sent.
      if (tentative && (type !== 'dir' || this.list(node).length === 0)) continue
      out.push(node)
    }
    this.#listings.set(dir, out)
    return out
  }

  entryDigest(node: TreeNode<DiskData>): Promise<Digest> {
    const context = this.#opts.mode === 'context'
    if (context && node.path === '/') return Promise.resolve(EMPTY_DIGEST)
    const st = node.data.stat
    const id: FileIdentity = {
      flavor: this.#opts.mode, dev: st.dev, ino: st.ino, size: st.size, mtimeNs: st.mtimeNs, ctimeNs: st.ctimeNs,
      mode: Number(st.mode), uid: Number(st.uid), gid: Number(st.gid),
    }
    const memo = this.#opts.memo
    const hit = memo?.get(id)
    if (hit !== undefined) return Promise.resolve(hit)
    // Hardlinks (same inode) share one record, as HandleChange does.
    const shared = node.type === 'file' && st.nlink > 1n
    const inodeKey = `${st.dev}:${st.ino}`
    const pending = shared ? this.#inodes.get(inodeKey) : undefined
    if (pending !== undefined) return pending
    const p = this.#hash(node, context).then((d) => {
      memo?.put(id, d)
      return d
    })
    if (shared) this.#inodes.set(inodeKey, p)
    return p
  }

  async #hash(node: TreeNode<DiskData>, context: boolean): Promise<Digest> {
    const st = node.data.stat
    const stMode = Number(st.mode)
    const abs = this.#abs(node)
    let mode = stMode & 0o7777
    if (!context && node.type === 'symlink') mode |= 0o777
    const typeflag = typeflagOf(stMode)
    // fsutil records device numbers for S_IFBLK/S_IFCHR bits; BuildKit's own scan never does.
    const [devmajor, devminor] = context && node.type !== 'dir' && (stMode & 0o060000) !== 0 ? devNumbers(st.rdev) : [0n, 0n]
    const meta: EntryMeta = {
      mode, typeflag, devmajor, devminor, size: st.size, linkname: node.linkname,
      uid: context ? 0 : Number(st.uid), gid: context ? 0 : Number(st.gid),
      xattrs: readXattrs(abs, context),
    }
    const h = headerHash(meta)
    if (typeflag === '0' && st.size > 0n && st.size <= SYNC_MAX) {
      const buf = this.#buffers.pop() ?? Buffer.allocUnsafe(BUF_SIZE)
      try {
        readIntoSync(abs, buf, (chunk) => h.update(chunk))
      } finally {
        this.#buffers.push(buf)
      }
    } else if (typeflag === '0' && st.size > 0n) {
      const buf = await this.#acquire()
      try {
        await readInto(abs, buf, (chunk) => h.update(chunk))
      } finally {
        this.#release(buf)
      }
    }
    return digestFromHash(h)
  }

  #acquire(): Promise<Buffer> {
    const limit = this.#opts.concurrency ?? 16
    if (this.#active < limit) {
      this.#active++
      return Promise.resolve(this.#buffers.pop() ?? Buffer.allocUnsafe(BUF_SIZE))
    }
    return new Promise((resolve) => this.#waiters.push(() => resolve(this.#buffers.pop() ?? Buffer.allocUnsafe(BUF_SIZE))))
  }

  #release(buf: Buffer): void {
    this.#buffers.push(buf)
    const next = this.#waiters.shift()
    if (next !== undefined) next()
    else this.#active--
  }
}

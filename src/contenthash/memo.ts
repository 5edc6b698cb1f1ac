/**
 * A memo of entry digests keyed by what stat says about a file, so unchanged files are not read
 * again on the next build. Any change to content, mode, owner or xattrs moves ctime, so
 * (dev, ino, size, mtime, ctime, mode, uid, gid) identifies an unchanged entry.
 */
import { readFile, rename, rm, writeFile } from 'node:fs/promises'
import { type Digest, isDigest } from '../core/digest.ts'
import { isNotFound } from '../core/errors.ts'

/** The stat identity of an entry, plus the hashing flavour (snapshot and context digests differ). */
export interface FileIdentity {
  flavor: 'snapshot' | 'context'
  dev: bigint
  ino: bigint
  size: bigint
  mtimeNs: bigint
  ctimeNs: bigint
  /** st_mode including the file type bits. */
  mode: number
  uid: number
  gid: number
}

export interface HashMemo {
  get(id: FileIdentity): Digest | undefined
  /** May ignore entries changed too recently to be trusted (see createFileHashMemo). */
  put(id: FileIdentity, digest: Digest): void
}

export interface FileHashMemo extends HashMemo {
  /** Number of entries held. */
  readonly size: number
  /** Writes the memo (tmp file + rename) if anything changed. */
  save(): Promise<void>
}

export interface FileHashMemoOptions {
  /**
   * Entries whose ctime is less than this many ms before now are not stored: file timestamps
   * are coarse (a kernel tick), so a second write in the same tick would go unnoticed. Default 1000.
   */
  racyWindowMs?: number
  /** Drop entries not used in this process when saving, once more than this many. Default 500,000. */
  maxEntries?: number
}

const FORMAT = 'cairn-contenthash-memo/1'

function keyOf(id: FileIdentity): string {
  return `${id.flavor === 'snapshot' ? 's' : 'c'}:${id.dev}:${id.ino}:${id.size}:${id.mtimeNs}:${id.ctimeNs}:${id.mode}:${id.uid}:${id.gid}`
}

/** An in-memory memo (one process). */
export function createMemoryHashMemo(): HashMemo {
  const m = new Map<string, Digest>()
  return { get: (id) => m.get(keyOf(id)), put: (id, d) => void m.set(keyOf(id), d) }
}

/**
 * A memo backed by a JSON file: loaded once here (a missing or unreadable file starts empty),
 * written back atomically by `save()`.
 */
export async function createFileHashMemo(path: string, opts: FileHashMemoOptions = {}): Promise<FileHashMemo> {
  const racyNs = BigInt(Math.round((opts.racyWindowMs ?? 1000) * 1e6))
  const maxEntries = opts.maxEntries ?? 500_000
  const entries = new Map<string, Digest>()
  try {
    const doc = JSON.parse(await readFile(path, 'utf8')) as { format?: unknown; entries?: unknown }
    if (doc.format === FORMAT && typeof doc.entries === 'object' && doc.entries !== null) {
      for (const [k, v] of Object.entries(doc.entries)) if (isDigest(v)) entries.set(k, v)
    }
  } catch (err) {
    if (!isNotFound(err) && !(err instanceof SyntaxError)) throw err
  }
  const used = new Set<string>()
  let dirty = false
  return {
    get size() {
      return entries.size
    },
    get(id) {
      const k = keyOf(id)
      const d = entries.get(k)
      if (d !== undefined) used.add(k)
      return d
    },
    put(id, digest) {
      const nowNs = BigInt(Date.now()) * 1_000_000n
      if (id.ctimeNs > nowNs - racyNs || id.mtimeNs > nowNs - racyNs) return
      const k = keyOf(id)
      used.add(k)
      if (entries.get(k) === digest) return
      entries.set(k, digest)
      dirty = true
    },
    async save() {
      if (entries.size > maxEntries) {
        for (const k of entries.keys()) if (!used.has(k)) entries.delete(k)
        dirty = true
      }
      if (!dirty) return
      const tmp = `${path}.tmp-${process.pid}-${Math.random().toString(36).slice(2)}`
      try {
        await writeFile(tmp, JSON.stringify({ format: FORMAT, entries: Object.fromEntries(entries) }))
        await rename(tmp, path)
      } catch (err) {
        await rm(tmp, { force: true })
        throw err
      }
      dirty = false
    },
  }
}

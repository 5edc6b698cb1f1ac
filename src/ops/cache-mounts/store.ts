import { mkdir, readdir, readFile, rename, rm, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { hexOf, sha256 } from '../../core/digest.ts'
import { acquireLock, type Lock } from './lock.ts'

export type CacheSharing = 'shared' | 'private' | 'locked'

export interface CacheMountRequest {
  /** The cache id as BuildKit forms it (`<ns>/<id or target>`). */
  id: string
  sharing: CacheSharing
  /**
   * Fills a directory that is being created (seed contents, owner and mode of its root). Runs
   * before the directory becomes visible under its id; a failure leaves nothing behind.
   */
  init?: (dir: string) => Promise<void>
}

/** A cache directory in use by one RUN step. */
export interface CacheMountLease {
  dir: string
  /** True when the directory was created for this lease (it was empty or seeded by `init`). */
  created: boolean
  /** Ends the use (frees a private instance or the lock of a locked cache). */
  release(): Promise<void>
}

/** What the store holds under one id (for an exporter of cache mounts). */
export interface CacheMountEntry {
  id: string
  /** Instance directories: the first is the main one, then the extra copies `private` made. */
  dirs: string[]
}

/**
 * Persistent cache-mount directories (`RUN --mount=type=cache`). Contents survive builds and
 * never enter layers or keys. Sharing: `shared` hands every user the same directory; `locked`
 * hands it to one user at a time (other builds, in this process or another, wait); `private`
 * hands each concurrent user its own instance (the first free one, else a new one).
 */
export interface CacheMountStore {
  acquire(req: CacheMountRequest, signal: AbortSignal): Promise<CacheMountLease>
  list(): Promise<CacheMountEntry[]>
}

/**
 * A store under `root`: `<root>/<sha256(id)>/id` (the id), `…/<n>/` instance directories
 * (`0` is the main one), `…/<n>.lock` lock files.
 */
export function createCacheMountStore(root: string): CacheMountStore {
  const entryDir = (id: string) => join(root, hexOf(sha256(id)))

  /** Creates instance `n` of an id if missing (atomically, through a rename); true when created. */
  const ensure = async (id: string, n: number, init: CacheMountRequest['init']): Promise<boolean> => {
    const base = entryDir(id)
    const dir = join(base, String(n))
    const exists = await readdir(dir).then(
      () => true,
      () => false,
    )
    if (exists) return false
    await mkdir(base, { recursive: true })
    await writeFile(join(base, 'id'), id)
    const tmp = join(base, `.tmp-${n}-${process.pid}-${Date.now().toString(36)}`)
    await mkdir(tmp)
    try {
      if (init) await init(tmp)
      await rename(tmp, dir)
      return true
    } catch (err) {
      await rm(tmp, { recursive: true, force: true })
      // another process created it first
      if ((err as NodeJS.ErrnoException).code === 'ENOTEMPTY' || (err as NodeJS.ErrnoException).code === 'EEXIST') return false
      throw err
    }
  }

  const lease = (dir: string, created: boolean, lock?: Lock): CacheMountLease => ({
    dir,
    created,
    release: async () => {
      await lock?.release()
    },
  })

  return {
    async acquire(req, signal) {
      const base = entryDir(req.id)
      if (req.sharing === 'shared') {
        const created = await ensure(req.id, 0, req.init)
        return lease(join(base, '0'), created)
      }
      await mkdir(base, { recursive: true })
      if (req.sharing === 'locked') {
        const lock = (await acquireLock(join(base, '0.lock'), signal)) as Lock
        try {
          const created = await ensure(req.id, 0, req.init)
          return lease(join(base, '0'), created, lock)
        } catch (err) {
          await lock.release()
          throw err
        }
      }
      // private: the first instance nobody holds
      for (let n = 0; ; n++) {
        const lock = await acquireLock(join(base, `${n}.lock`), signal, { wait: false })
        if (!lock) continue
        try {
          const created = await ensure(req.id, n, req.init)
          return lease(join(base, String(n)), created, lock)
        } catch (err) {
          await lock.release()
          throw err
        }
      }
    },

    async list() {
      const names = await readdir(root).catch(() => [] as string[])
      const out: CacheMountEntry[] = []
      for (const name of names.sort()) {
        const id = await readFile(join(root, name, 'id'), 'utf8').catch(() => undefined)
        if (id === undefined) continue
        const inst = (await readdir(join(root, name))).filter((n) => /^\d+$/.test(n)).sort((a, b) => Number(a) - Number(b))
        out.push({ id, dirs: inst.map((n) => join(root, name, n)) })
      }
      return out
    },
  }
}

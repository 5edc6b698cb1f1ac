/**
 * A cross-process lock on `index.json.lock` (the file BuildKit's client locks too), taken with
 * O_EXCL create and released by unlinking. A lock older than `staleMs` is considered left by a
 * killed process and broken. Writers in one process are also serialised in memory so they do not
 * spin on the file.
 */
import { open, stat, unlink } from 'node:fs/promises'
import { throwIfAborted, UnavailableError } from '../../../core/errors.ts'

export interface LockOptions {
  signal?: AbortSignal | undefined
  /** Age after which a lock file is treated as abandoned (default 10 s; the critical section takes milliseconds). */
  staleMs?: number
  /** Give up after this long (default 60 s). */
  timeoutMs?: number
  now?: () => number
}

const inProcess = new Map<string, Promise<void>>()

/** Runs `fn` holding the lock at `lockPath`. */
export async function withLock<T>(lockPath: string, fn: () => Promise<T>, o: LockOptions = {}): Promise<T> {
  const prev = inProcess.get(lockPath) ?? Promise.resolve()
  let done!: () => void
  const mine = new Promise<void>((r) => {
    done = r
  })
  const chain = prev.then(() => mine)
  inProcess.set(lockPath, chain)
  try {
    await prev
    await acquire(lockPath, o)
    try {
      return await fn()
    } finally {
      await unlink(lockPath).catch(() => {})
    }
  } finally {
    done()
    if (inProcess.get(lockPath) === chain) inProcess.delete(lockPath)
  }
}

async function acquire(lockPath: string, o: LockOptions): Promise<void> {
  const now = o.now ?? Date.now
  const staleMs = o.staleMs ?? 10_000
  const deadline = now() + (o.timeoutMs ?? 60_000)
  let wait = 2
  for (;;) {
    throwIfAborted(o.signal)
    try {
      const fh = await open(lockPath, 'wx', 0o644)
      await fh.writeFile(`${process.pid}\n`)
      await fh.close()
      return
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err
    }
    const st = await stat(lockPath).catch(() => undefined)
    if (st && now() - st.mtimeMs > staleMs) {
      await unlink(lockPath).catch(() => {})
      continue
    }
    if (now() > deadline) {
      throw new UnavailableError(`${lockPath} is locked by another writer`, {
        code: 'ERR_CACHE_LOCKED',
        hint: `another export to this directory is running; if none is, delete ${lockPath}`,
      })
    }
    await new Promise((r) => setTimeout(r, wait))
    wait = Math.min(wait * 2, 50)
  }
}

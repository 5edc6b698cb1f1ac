import { open, readFile, unlink } from 'node:fs/promises'
import { throwIfAborted } from '../../core/errors.ts'

/** A held lock; `release` is idempotent. */
export interface Lock {
  release(): Promise<void>
}

const inProcess = new Map<string, Promise<void>>()

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM'
  }
}

/** One attempt at the lock file: true when it was created (it holds our pid). Removes a dead owner's file. */
async function tryFile(path: string): Promise<boolean> {
  try {
    const fh = await open(path, 'wx')
    await fh.writeFile(String(process.pid))
    await fh.close()
    return true
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err
  }
  const owner = Number((await readFile(path, 'utf8').catch(() => '')).trim())
  // an empty file is one being written right now; only a dead owner's lock is broken
  if (Number.isInteger(owner) && owner > 0 && owner !== process.pid && !alive(owner)) await unlink(path).catch(() => {})
  return false
}

const sleep = (ms: number, signal: AbortSignal) =>
  new Promise<void>((resolve, reject) => {
    if (signal.aborted) return reject(signal.reason)
    const t = setTimeout(() => {
      signal.removeEventListener('abort', onAbort)
      resolve()
    }, ms)
    const onAbort = () => {
      clearTimeout(t)
      reject(signal.reason)
    }
    signal.addEventListener('abort', onAbort, { once: true })
  })

/**
 * An exclusive lock on `path` (a lock file holding the owner's pid), shared by the processes of
 * one machine: waits while another live process or another caller in this process holds it.
 * With `wait: false`, resolves undefined instead of waiting.
 */
export async function acquireLock(path: string, signal: AbortSignal, o: { wait?: boolean } = {}): Promise<Lock | undefined> {
  const wait = o.wait !== false
  // in-process queue first, so that only one caller of this process polls the file
  for (;;) {
    throwIfAborted(signal)
    const held = inProcess.get(path)
    if (!held) break
    if (!wait) return undefined
    await Promise.race([held, new Promise<never>((_, reject) => signal.addEventListener('abort', () => reject(signal.reason), { once: true }))])
  }
  let done!: () => void
  inProcess.set(path, new Promise<void>((r) => (done = r)))
  const unlockProcess = () => {
    inProcess.delete(path)
    done()
  }
  try {
    let delay = 20
    while (!(await tryFile(path))) {
      if (!wait) {
        unlockProcess()
        return undefined
      }
      await sleep(delay, signal)
      delay = Math.min(delay * 2, 500)
    }
  } catch (err) {
    unlockProcess()
    throw err
  }
  let released = false
  return {
    async release() {
      if (released) return
      released = true
      await unlink(path).catch(() => {})
      unlockProcess()
    },
  }
}

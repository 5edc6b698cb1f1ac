/**
 * A worker thread that packs layers (layer/pack-thread.ts starts it): the walk, tar encoding,
 * hashing and the file write of a layer run here, off the main thread, so that a build's other
 * steps go on meanwhile. One message per job; the compressed blob is written to `dest`.
 */
import { closeSync, openSync } from 'node:fs'
import { parentPort } from 'node:worker_threads'
import { PriorityBoost } from '../core/thread-priority.ts'
import type { PackJob, PackReply } from './pack-thread.ts'
import { packLayer } from './write-layer.ts'

const port = parentPort
if (!port) throw new Error('pack-worker.ts runs as a worker thread')

/**
 * A layer that takes long to pack makes this thread run ahead of cairn's others where it may
 * (root), until its pack is done: in a mode=max export, packing the build's last big layer is what
 * the build waits for at its end, while the last steps, the main thread's image export and the
 * thread pool want the same cores. Measured on W1 (2 cores), from the last step's end to the
 * export's, median of 8-10 builds: 165-170 ms at nice 0, 151 at -5, 122-132 at -10, 114 at -19,
 * with the RUN step beside the first pack as long (~790 ms) at every value. Short packs are left
 * alone: with every pack raised, a W3 export build (40 small layers, each packed while the next
 * step starts) was ~100 ms slower in 3 pairs.
 */
const BOOST_NICE = -10
const BOOST_AFTER_MS = 30
const boost = new PriorityBoost(BOOST_NICE)
const running = new Map<number, { ac: AbortController; start: number }>()

/**
 * Called at every 1 MiB of tar of any job: raises the priority once a running pack has taken
 * BOOST_AFTER_MS. One function for every job, so that the packer's call site keeps one target.
 */
function onUncompressedChunk(): void {
  if (boost.active) return
  const now = performance.now()
  if ([...running.values()].some((job) => now - job.start >= BOOST_AFTER_MS)) boost.raise()
}

port.on('message', (msg: PackJob | { cancel: number }) => {
  if ('cancel' in msg) {
    running.get(msg.cancel)?.ac.abort()
    return
  }
  const ac = new AbortController()
  running.set(msg.id, { ac, start: performance.now() })
  const opts = {
    compression: msg.compression,
    mtime: msg.mtime,
    signal: ac.signal,
    onUncompressedChunk,
    ...(msg.level !== undefined ? { level: msg.level } : {}),
  }
  const pack = async () => {
    const fd = openSync(msg.dest, 'wx')
    try {
      return await packLayer({ upperDir: msg.upperDir }, { fd }, opts)
    } finally {
      closeSync(fd)
    }
  }
  pack()
    .then(
      (result) => port.postMessage({ id: msg.id, result } satisfies PackReply),
      (err: Error & { code?: string }) => port.postMessage({ id: msg.id, error: { message: err.message, code: err.code ?? '' } } satisfies PackReply),
    )
    .finally(() => {
      running.delete(msg.id)
      if (running.size === 0) boost.lower() // until the next long pack
    })
})

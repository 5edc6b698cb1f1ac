/**
 * A worker thread that packs layers (layer/pack-thread.ts starts it): the walk, tar encoding,
 * hashing and the file write of a layer run here, off the main thread, so that a build's other
 * steps go on meanwhile. One message per job; the compressed blob is written to `dest`.
 */
import { closeSync, openSync } from 'node:fs'
import { parentPort } from 'node:worker_threads'
import type { PackJob, PackReply } from './pack-thread.ts'
import { packLayer } from './write-layer.ts'

const port = parentPort
if (!port) throw new Error('pack-worker.ts runs as a worker thread')
const running = new Map<number, AbortController>()

port.on('message', (msg: PackJob | { cancel: number }) => {
  if ('cancel' in msg) {
    running.get(msg.cancel)?.abort()
    return
  }
  const ac = new AbortController()
  running.set(msg.id, ac)
  const opts = { compression: msg.compression, mtime: msg.mtime, signal: ac.signal, ...(msg.level !== undefined ? { level: msg.level } : {}) }
  const pack = async () => {
    const fd = openSync(msg.dest, 'wx')
    try {
      return await packLayer({ upperDir: msg.upperDir }, { fd }, opts)
    } finally {
      closeSync(fd)
    }
  }
  pack().then(
    (result) => port.postMessage({ id: msg.id, result } satisfies PackReply),
    (err: Error & { code?: string }) => port.postMessage({ id: msg.id, error: { message: err.message, code: err.code ?? '' } } satisfies PackReply),
  ).finally(() => running.delete(msg.id))
})

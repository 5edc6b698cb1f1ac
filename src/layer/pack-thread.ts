/**
 * Packing layers on a worker thread (pack-worker.ts). Node runs the walk, tar encoding and
 * hashing of a layer on the thread that asks for it; a build that exports its cache with
 * mode=max packs every layer it makes, and on the main thread that work (0.6 s for W1) delays the
 * steps still to run. On a worker it overlaps them. The worker is started on first use and does
 * not keep the process alive while it has nothing to do.
 */
import { existsSync } from 'node:fs'
import { Worker } from 'node:worker_threads'
import { CairnError } from '../core/errors.ts'
import type { Compression } from './media-type.ts'
import type { PackResult } from './write-layer.ts'

export interface PackJob {
  id: number
  upperDir: string
  compression: Compression
  level?: number
  mtime: number
  /** Where the compressed blob is written (a file that must not exist yet). */
  dest: string
}

export type PackReply = { id: number; result: PackResult; error?: undefined } | { id: number; error: { message: string; code: string }; result?: undefined }

export type PackThread = (job: Omit<PackJob, 'id'>, signal: AbortSignal) => Promise<PackResult>

/** The worker module, or undefined when it is not built. */
function workerUrl(): URL | undefined {
  // the worker sits next to the bundle (dist/bundle/cairn.cjs); from source (tests), the built one
  for (const rel of ['./pack-worker.mjs', '../../dist/bundle/pack-worker.mjs']) {
    const u = new URL(rel, import.meta.url)
    if (existsSync(u)) return u
  }
  return undefined
}

/** A packer on one worker thread, or undefined when the worker module cannot be found. */
export function createPackThread(): PackThread | undefined {
  const url = workerUrl()
  if (!url) return undefined
  let worker: Worker | undefined
  let next = 0
  const waiting = new Map<number, { resolve(r: PackResult): void; reject(e: Error): void }>()
  const start = (): Worker => {
    const w = new Worker(url)
    w.on('message', (reply: PackReply) => {
      const p = waiting.get(reply.id)
      if (!p) return
      waiting.delete(reply.id)
      if (waiting.size === 0) w.unref()
      if (reply.result) p.resolve(reply.result)
      else p.reject(new CairnError(reply.error.code || 'ERR_LAYER_PACK', reply.error.message))
    })
    const fail = (err: Error) => {
      worker = undefined
      for (const p of waiting.values()) p.reject(err)
      waiting.clear()
    }
    w.on('error', fail)
    w.on('exit', (code) => fail(new CairnError('ERR_LAYER_PACK', `the layer packing thread exited (code ${code})`)))
    return w
  }
  return (job, signal) =>
    new Promise<PackResult>((resolve, reject) => {
      if (signal.aborted) return reject(signal.reason)
      worker ??= start()
      const w = worker
      const id = ++next
      waiting.set(id, { resolve, reject })
      w.ref()
      signal.addEventListener(
        'abort',
        () => {
          if (!waiting.delete(id)) return
          w.postMessage({ cancel: id })
          if (waiting.size === 0) w.unref()
          reject(signal.reason)
        },
        { once: true },
      )
      w.postMessage({ ...job, id } satisfies PackJob)
    })
}

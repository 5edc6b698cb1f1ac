import type { Readable } from 'node:stream'
import { pipeline } from 'node:stream/promises'
import type { Digest } from '../../../core/digest.ts'
import { HashingStream } from '../../../core/streams.ts'

export interface ChunkedUploadResult {
  digest: Digest
  size: number
  chunks: number
}

export type PutChunk = (index: number, offset: number, bytes: Uint8Array, signal: AbortSignal) => Promise<void>

/**
 * Streams `source` into fixed-size chunks and uploads them with at most `concurrency` in flight,
 * hashing as it goes. At most `concurrency + 1` chunks are held in memory, never the whole blob.
 * The first failing chunk aborts the rest and rejects.
 */
export async function uploadChunked(
  source: Readable,
  chunkSize: number,
  concurrency: number,
  put: PutChunk,
  signal?: AbortSignal,
): Promise<ChunkedUploadResult> {
  const ac = new AbortController()
  const onAbort = (): void => ac.abort(signal?.reason)
  signal?.addEventListener('abort', onAbort, { once: true })
  if (signal?.aborted) onAbort()
  const hasher = new HashingStream()
  const inflight = new Set<Promise<void>>()
  let failure: { err: unknown } | undefined
  let index = 0
  let offset = 0
  let parts: Buffer[] = []
  let buffered = 0

  const launch = async (bytes: Buffer): Promise<void> => {
    const i = index++
    const off = offset
    offset += bytes.length
    const p: Promise<void> = put(i, off, bytes, ac.signal).then(
      () => {
        inflight.delete(p)
      },
      (err: unknown) => {
        inflight.delete(p)
        failure ??= { err }
        ac.abort(err)
      },
    )
    inflight.add(p)
    while (inflight.size >= concurrency) await Promise.race(inflight)
    if (failure) throw failure.err
  }

  const drain = async (final: boolean): Promise<void> => {
    while (buffered >= chunkSize || (final && buffered > 0)) {
      const all = parts.length === 1 ? (parts[0] as Buffer) : Buffer.concat(parts, buffered)
      const take = Math.min(chunkSize, all.length)
      const rest = all.subarray(take)
      parts = rest.length > 0 ? [rest] : []
      buffered = rest.length
      await launch(all.subarray(0, take))
    }
  }

  try {
    await pipeline(
      source,
      hasher,
      async (chunks: AsyncIterable<Buffer>) => {
        for await (const chunk of chunks) {
          parts.push(chunk)
          buffered += chunk.length
          await drain(false)
        }
        await drain(true)
      },
      { signal: ac.signal },
    )
    await Promise.all(inflight)
  } catch (err) {
    ac.abort(err)
    await Promise.allSettled(inflight)
    if (signal?.aborted) throw signal.reason
    throw failure?.err ?? err
  } finally {
    signal?.removeEventListener('abort', onAbort)
  }
  if (failure) throw failure.err
  return { digest: hasher.digest(), size: hasher.size, chunks: index }
}

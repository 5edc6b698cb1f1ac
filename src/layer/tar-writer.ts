/**
 * Streaming tar writer: turns an (async) iterable of entries into POSIX pax/ustar bytes.
 * Output is pulled (Readable.from over an async generator), so backpressure reaches the
 * entry source and nothing but the current chunk is held in memory. Small pieces are
 * coalesced into chunks of about 64 KiB. For bodies that arrive as streams (an OCI archive of
 * blobs); a layer's tar, whose bodies are files, is laid out by tar-blocks.ts with the same headers.
 */
import { Readable } from 'node:stream'
import { FailedPreconditionError, throwIfAborted } from '../core/errors.ts'
import { END_OF_ARCHIVE, encodeHeader, padding, type TarHeader } from './tar-header.ts'

/** One entry to write. `body` must produce exactly `header.size` bytes. */
export interface TarSourceEntry {
  header: TarHeader
  body?: Buffer | (() => AsyncIterable<Buffer>)
}

export interface TarWriteOptions {
  signal?: AbortSignal
}

const COALESCE = 64 * 1024

/** The tar byte stream of `entries`, as an async generator of Buffers. */
export async function* encodeTar(entries: AsyncIterable<TarSourceEntry> | Iterable<TarSourceEntry>, opts: TarWriteOptions = {}): AsyncGenerator<Buffer> {
  let pending: Buffer[] = []
  let pendingSize = 0
  const take = (): Buffer => {
    const out = pending.length === 1 ? pending[0] : Buffer.concat(pending, pendingSize)
    pending = []
    pendingSize = 0
    return out
  }
  const add = (b: Buffer): boolean => {
    if (b.length === 0) return false
    pending.push(b)
    pendingSize += b.length
    return pendingSize >= COALESCE
  }
  for await (const { header, body } of entries) {
    throwIfAborted(opts.signal)
    if (add(encodeHeader(header))) yield take()
    let written = 0
    if (Buffer.isBuffer(body)) {
      written = body.length
      if (written === header.size && add(body)) yield take()
    } else if (body !== undefined) {
      for await (const chunk of body()) {
        written += chunk.length
        if (written > header.size) break
        if (chunk.length >= COALESCE) {
          if (pendingSize > 0) yield take()
          yield chunk
        } else if (add(chunk)) {
          yield take()
        }
        throwIfAborted(opts.signal)
      }
    }
    if (written !== header.size) {
      throw new FailedPreconditionError(
        `tar: ${JSON.stringify(header.name)} produced ${written} bytes, header says ${header.size} (file changed while packing?)`,
        { code: 'ERR_LAYER_SIZE_CHANGED' },
      )
    }
    if (add(padding(header.size))) yield take()
  }
  add(END_OF_ARCHIVE)
  yield take()
}

/** The tar byte stream of `entries` as a (non-object-mode) Readable. */
export function tarStream(entries: AsyncIterable<TarSourceEntry> | Iterable<TarSourceEntry>, opts: TarWriteOptions = {}): Readable {
  return Readable.from(encodeTar(entries, opts), { objectMode: false, highWaterMark: 1024 * 1024 })
}

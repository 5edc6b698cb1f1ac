/**
 * Lays a layer's tar out in fixed-size blocks: headers are encoded into the block, and each
 * file's body is read (readSync) straight into it at its tar offset, so file data is copied once,
 * by the kernel, and no per-entry chunk is allocated, coalesced or queued. The blocks are what the
 * packer hashes and compresses (write-layer.ts): 1 MiB blocks are also the gzip members of
 * parallel-gzip.ts, so a block goes to the compressor as it is.
 */
import { closeSync, constants, openSync, readSync } from 'node:fs'
import { FailedPreconditionError, throwIfAborted } from '../core/errors.ts'
import { BLOCK, encodeHeader, encodeHeaderInto, type TarHeader } from './tar-header.ts'
import type { LayerEntry } from './walk.ts'

export interface TarBlockOptions {
  /** Bytes per block: every block but the last is exactly this long. */
  blockSize: number
  /** A buffer of at least `blockSize` bytes for the next block; it may hold old bytes (every byte is written). */
  alloc: () => Buffer
  signal?: AbortSignal
}

function sizeChanged(h: TarHeader, got: number): FailedPreconditionError {
  return new FailedPreconditionError(`tar: ${JSON.stringify(h.name)} produced ${got} bytes, header says ${h.size} (file changed while packing?)`, {
    code: 'ERR_LAYER_SIZE_CHANGED',
  })
}

/** The tar of `entries` (end-of-archive marker included) as blocks; the last one may be shorter. */
export function* tarBlocks(entries: Iterable<LayerEntry>, o: TarBlockOptions): Generator<Buffer> {
  const size = o.blockSize
  let block = o.alloc()
  let pos = 0
  /** Zero bytes, as many as asked, across block boundaries. */
  function* zeros(n: number): Generator<Buffer> {
    while (n > 0) {
      const k = Math.min(n, size - pos)
      block.fill(0, pos, pos + k)
      pos += k
      n -= k
      if (pos === size) {
        yield block
        block = o.alloc()
        pos = 0
      }
    }
  }
  throwIfAborted(o.signal) // then at each block: the entry source (the walk) checks per entry
  for (const { header, file } of entries) {
    if (encodeHeaderInto(header, block, pos)) {
      pos += BLOCK
      if (pos === size) {
        yield block
        block = o.alloc()
        pos = 0
      }
    } else {
      const hdr = encodeHeader(header)
      for (let off = 0; off < hdr.length; ) {
        const k = Math.min(hdr.length - off, size - pos)
        hdr.copy(block, pos, off, off + k)
        pos += k
        off += k
        if (pos === size) {
          yield block
          block = o.alloc()
          pos = 0
        }
      }
    }
    if (header.size === 0) continue
    if (file === undefined)
      throw new FailedPreconditionError(`tar: ${JSON.stringify(header.name)} has size ${header.size} but no body`, { code: 'ERR_LAYER_SIZE_CHANGED' })
    const fd = openSync(file, constants.O_RDONLY | constants.O_NOFOLLOW)
    try {
      let left = header.size
      while (left > 0) {
        const n = readSync(fd, block, pos, Math.min(left, size - pos), null)
        if (n === 0) throw sizeChanged(header, header.size - left) // shrank while packing
        pos += n
        left -= n
        if (pos === size) {
          yield block
          throwIfAborted(o.signal)
          block = o.alloc()
          pos = 0
        }
      }
    } finally {
      closeSync(fd)
    }
    const rem = header.size % BLOCK
    if (rem !== 0) yield* zeros(BLOCK - rem)
  }
  yield* zeros(2 * BLOCK) // end of archive
  if (pos > 0) yield block.subarray(0, pos)
}

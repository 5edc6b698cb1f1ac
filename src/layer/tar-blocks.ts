/**
 * Lays a layer's tar out in fixed-size blocks: headers are encoded into the block, and each
 * file's body is read (readSync) straight into it at its tar offset, so file data is copied once,
 * by the kernel, and no per-entry chunk is allocated, coalesced or queued. The blocks are what the
 * packer hashes and compresses (write-layer.ts): 1 MiB blocks are also the gzip members of
 * parallel-gzip.ts, so a block goes to the compressor as it is.
 */
import { closeSync, constants, openSync, readSync } from 'node:fs'
import { type AbortFlag, FailedPreconditionError, withAbortFlag } from '../core/errors.ts'
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
export function tarBlocks(entries: Iterable<LayerEntry>, o: TarBlockOptions): Generator<Buffer> {
  return withAbortFlag(o.signal, layOut, entries, o)
}

function* layOut(abort: AbortFlag, entries: Iterable<LayerEntry>, o: TarBlockOptions): Generator<Buffer> {
  const size = o.blockSize
  let block = o.alloc()
  let pos = 0
  /** Hands the full block over and starts the next one. */
  function* turn(): Generator<Buffer> {
    yield block
    abort.throwIfAborted()
    block = o.alloc()
    pos = 0
  }
  /**
   * The next `n` bytes of the tar, written by `write(into, at, done, k)` (k bytes at `at`, the
   * `done` before them already written) across block boundaries.
   */
  function* span(n: number, write: (into: Buffer, at: number, done: number, k: number) => void): Generator<Buffer> {
    for (let done = 0; done < n; ) {
      const k = Math.min(n - done, size - pos)
      write(block, pos, done, k)
      pos += k
      done += k
      if (pos === size) yield* turn()
    }
  }
  const zeros = (into: Buffer, at: number, _done: number, k: number) => {
    into.fill(0, at, at + k)
  }
  abort.throwIfAborted() // then at each block: the entry source (the walk) checks per entry
  for (const { header, file } of entries) {
    if (encodeHeaderInto(header, block, pos)) {
      // the usual header, one tar block, written in place (tar blocks never straddle a block boundary)
      pos += BLOCK
      if (pos === size) yield* turn()
    } else {
      const hdr = encodeHeader(header) // with PAX records: longer than one tar block
      yield* span(hdr.length, (into, at, done, k) => hdr.copy(into, at, done, done + k))
    }
    if (header.size === 0) continue
    if (file === undefined)
      throw new FailedPreconditionError(`tar: ${JSON.stringify(header.name)} has size ${header.size} but no body`, { code: 'ERR_LAYER_SIZE_CHANGED' })
    const fd = openSync(file, constants.O_RDONLY | constants.O_NOFOLLOW)
    try {
      yield* span(header.size, (into, at, done, k) => {
        for (let got = 0; got < k; ) {
          const n = readSync(fd, into, at + got, k - got, null)
          if (n === 0) throw sizeChanged(header, done + got) // shrank while packing
          got += n
        }
      })
    } finally {
      closeSync(fd)
    }
    const rem = header.size % BLOCK
    if (rem !== 0) yield* span(BLOCK - rem, zeros)
  }
  yield* span(2 * BLOCK, zeros) // end of archive
  if (pos > 0) yield block.subarray(0, pos)
}

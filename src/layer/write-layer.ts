/**
 * One-pass layer writer: the tar is produced once; in the same pass the uncompressed bytes
 * are hashed (diffID) and optionally scanned, then compressed, and the compressed bytes are
 * hashed and counted (digest, size) while they stream into the caller's sink.
 */
import { createHash } from 'node:crypto'
import { writevSync } from 'node:fs'
import { Readable } from 'node:stream'
import { type Digest, digestFromHash } from '../core/digest.ts'
import { FailedPreconditionError } from '../core/errors.ts'
import { blockCompressor } from './compress.ts'
import { type Compression, layerMediaType } from './media-type.ts'
import { nativeTar, nativeTarBlocks, nativeTarFits } from './native-tar.ts'
import { GZIP_BLOCK, type Member } from './parallel-gzip.ts'
import { tarBlocks } from './tar-blocks.ts'
import { walkLayerEntries, type WalkMode } from './walk.ts'

/** Sees every uncompressed tar chunk, in order (e.g. a secret scanner). Must not keep or mutate it. */
export type LayerScanner = (chunk: Buffer) => void

export interface PackSource {
  /** The directory to pack: an overlayfs upper dir, or any dir with `mode: 'plain'`. */
  upperDir: string
  mode?: WalkMode
  exclude?: (relPath: string) => boolean
}

export interface PackOptions {
  compression: Compression
  level?: number
  /** Entry mtime in seconds; default 0. */
  mtime?: number
  onUncompressedChunk?: LayerScanner
  signal?: AbortSignal
}

export interface PackResult {
  diffID: Digest
  digest: Digest
  /** Compressed size in bytes. */
  size: number
  uncompressedSize: number
  mediaType: string
}

/** Tar block size: also the gzip member size, so a block goes to the compressor as it is. */
const TAR_BLOCK = GZIP_BLOCK

/**
 * Where packLayer puts the compressed layer: a consumer of a stream, or an open file written
 * synchronously as the output comes (no stream, and gzip's stored members and an uncompressed tar
 * are written straight from the tar blocks, which are then reused).
 */
export type PackSink = ((compressed: Readable) => Promise<void>) | { fd: number }

function writeAllSync(fd: number, pieces: Buffer[]): void {
  let left = pieces
  while (left.length > 0) {
    let n = writevSync(fd, left)
    let i = 0
    while (i < left.length && n >= (left[i] as Buffer).length) n -= (left[i++] as Buffer).length
    left = left.slice(i)
    if (n > 0) left[0] = (left[0] as Buffer).subarray(n)
  }
}

/**
 * Packs `src` into a compressed layer written to `sink`; reports diffID, digest and sizes. The
 * tar is laid out in blocks (tar-blocks.ts) that are hashed, scanned and compressed in turn; the
 * blocks are reused once compressed, so packing holds a few MiB whatever the layer's size.
 */
export async function packLayer(src: PackSource, sink: PackSink, opts: PackOptions): Promise<PackResult> {
  const signal = opts.signal
  const walk = {
    mode: src.mode ?? 'overlay',
    mtime: opts.mtime ?? 0,
    ...(src.exclude === undefined ? {} : { exclude: src.exclude }),
    ...(signal === undefined ? {} : { signal }),
  }
  const toFile = typeof sink !== 'function'
  const codec = blockCompressor(opts.compression, opts.level, { inPlace: toFile })
  const free: Buffer[] = []
  const alloc = () => free.pop() ?? Buffer.allocUnsafeSlow(TAR_BLOCK)
  const layout = { blockSize: TAR_BLOCK, alloc, ...(signal === undefined ? {} : { signal }) }
  const native = nativeTarFits(walk) ? nativeTar() : undefined
  const blocks = native
    ? nativeTarBlocks(native, src.upperDir, walk.mode === 'overlay', walk.mtime, layout)
    : tarBlocks(walkLayerEntries(src.upperDir, walk), layout)
  const scan = opts.onUncompressedChunk
  // An uncompressed blob is the tar itself: its digest is the diffID, so it is hashed only once.
  const plain = opts.compression === 'uncompressed'
  const tar = { hash: createHash('sha256'), size: 0 }
  const out = { hash: plain ? undefined : createHash('sha256'), size: 0 }
  async function* members(): AsyncGenerator<Member> {
    let complete = false
    try {
      for (const block of blocks) {
        tar.hash.update(block)
        tar.size += block.length
        scan?.(block)
        yield* await codec.add(block, codec.reusesBlocks ? () => free.push(block) : undefined)
      }
      yield* await codec.finish()
      complete = true
    } finally {
      if (!complete) codec.destroy()
    }
  }
  const count = (m: Member) => {
    for (const p of m.pieces) {
      out.hash?.update(p)
      out.size += p.length
    }
  }
  if (typeof sink !== 'function') {
    for await (const m of members()) {
      count(m)
      writeAllSync(sink.fd, m.pieces)
      m.done?.()
    }
  } else {
    async function* bytes(): AsyncGenerator<Buffer> {
      for await (const m of members()) {
        count(m)
        yield* m.pieces
      }
    }
    const stream = Readable.from(bytes(), { objectMode: false, highWaterMark: TAR_BLOCK })
    const stop = () => stream.destroy(signal?.reason as Error)
    signal?.addEventListener('abort', stop, { once: true })
    try {
      await sink(stream)
    } finally {
      signal?.removeEventListener('abort', stop)
    }
    if (!stream.readableEnded) {
      throw new FailedPreconditionError('packLayer: the sink resolved before reading the whole layer', { code: 'ERR_LAYER_SINK' })
    }
  }
  const diffID = digestFromHash(tar.hash)
  return {
    diffID,
    digest: out.hash ? digestFromHash(out.hash) : diffID,
    size: plain ? tar.size : out.size,
    uncompressedSize: tar.size,
    mediaType: layerMediaType(opts.compression),
  }
}

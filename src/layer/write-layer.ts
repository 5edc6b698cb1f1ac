/**
 * One-pass layer writer: the tar is produced once; in the same pass the uncompressed bytes
 * are hashed (diffID) and optionally scanned, then compressed, and the compressed bytes are
 * hashed and counted (digest, size) while they stream into the caller's sink.
 */
import { createHash } from 'node:crypto'
import { PassThrough, type Readable, Transform, type TransformCallback, type Writable } from 'node:stream'
import { pipeline } from 'node:stream/promises'
import { type Digest, digestFromHash } from '../core/digest.ts'
import { FailedPreconditionError } from '../core/errors.ts'
import { HashingStream } from '../core/streams.ts'
import { compressStream } from './compress.ts'
import { layerTarStream } from './diff.ts'
import { type Compression, layerMediaType } from './media-type.ts'
import type { WalkMode } from './walk.ts'

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

/** Hashes and counts the uncompressed tar and hands each chunk to the scanner. */
class UncompressedTap extends Transform {
  readonly hash = createHash('sha256')
  size = 0
  readonly #scan: LayerScanner | undefined
  constructor(scan: LayerScanner | undefined) {
    super({ highWaterMark: 1024 * 1024 })
    this.#scan = scan
  }
  override _transform(chunk: Buffer, _enc: BufferEncoding, cb: TransformCallback): void {
    this.hash.update(chunk)
    this.size += chunk.length
    try {
      this.#scan?.(chunk)
    } catch (err) {
      cb(err as Error)
      return
    }
    cb(null, chunk)
  }
}

/** Packs `src` into a compressed layer streamed into `sink`; reports diffID, digest and sizes. */
export async function packLayer(src: PackSource, sink: (compressed: Readable) => Promise<void>, opts: PackOptions): Promise<PackResult> {
  const walk = {
    mode: src.mode ?? 'overlay',
    mtime: opts.mtime ?? 0,
    ...(src.exclude === undefined ? {} : { exclude: src.exclude }),
    ...(opts.signal === undefined ? {} : { signal: opts.signal }),
  }
  const tar = layerTarStream(src.upperDir, walk)
  const tap = new UncompressedTap(opts.onUncompressedChunk)
  // An uncompressed blob is the tar itself: its digest is the diffID, so it is hashed only once.
  const plain = opts.compression === 'uncompressed'
  const out = plain ? new PassThrough({ highWaterMark: 1024 * 1024 }) : new HashingStream({ highWaterMark: 1024 * 1024 })
  const stages = plain ? [tar, tap, out] : [tar, tap, compressStream(opts.compression, opts.level), out]
  const produced = pipeline(stages as unknown as [Readable, Transform, Writable], opts.signal === undefined ? {} : { signal: opts.signal })
  const consumed = sink(out).then(() => {
    if (!out.readableEnded) {
      throw new FailedPreconditionError('packLayer: the sink resolved before reading the whole layer', { code: 'ERR_LAYER_SINK' })
    }
  })
  // If either side fails, tear the other down so nothing hangs.
  consumed.catch((err: unknown) => out.destroy(err as Error))
  produced.catch((err: unknown) => out.destroy(err as Error))
  await Promise.all([produced, consumed])
  const diffID = digestFromHash(tap.hash)
  return {
    diffID,
    digest: out instanceof HashingStream ? out.digest() : diffID,
    size: out instanceof HashingStream ? out.size : tap.size,
    uncompressedSize: tap.size,
    mediaType: layerMediaType(opts.compression),
  }
}

import type { Readable, Writable } from 'node:stream'
import type { Descriptor } from '../core/descriptor.ts'
import type { Digest } from '../core/digest.ts'

export interface CallOpts {
  signal?: AbortSignal
}

export interface BlobInfo {
  digest: Digest
  size: number
}

/** Reads committed blobs. */
export interface BlobProvider {
  /** Size of a committed blob, or undefined when it is not present. */
  stat(d: Digest, o?: CallOpts): Promise<BlobInfo | undefined>
  /** A stream of the blob's bytes; NotFoundError when absent. */
  open(desc: Pick<Descriptor, 'digest'>, o?: CallOpts & { start?: number }): Promise<Readable>
}

/**
 * Writes blobs. Nothing written is visible to readers until `commit` has verified the size and
 * digest and renamed the ingest file into place; `abort` discards it. Commit of a blob that is
 * already present succeeds (the existing one is kept).
 */
export interface BlobIngester {
  writer(o?: CallOpts): Promise<BlobWriter>
}

export interface BlobWriter {
  readonly stream: Writable
  /** Bytes written so far. */
  readonly offset: number
  /** The digest of what was written so far (valid after the stream finished). */
  digest(): Digest
  /** Verifies and publishes. When `expected` is omitted, the computed digest is used. */
  commit(expected?: Pick<Descriptor, 'digest' | 'size'>): Promise<BlobInfo>
  abort(): Promise<void>
}

export type BlobStore = BlobProvider &
  BlobIngester & {
    /** Path of a committed blob on disk (local stores only), for zero-copy reads. */
    path(d: Digest): string
    /** A fresh path for a blob written by someone else (another thread), published with adopt(). */
    ingestPath?(): Promise<string>
    /** Publishes a file written at an ingestPath(), whose digest and size its writer computed while writing it. */
    adopt?(tmp: string, info: BlobInfo): Promise<BlobInfo>
    delete(d: Digest): Promise<void>
  }

import type { Readable } from 'node:stream'
import type { Descriptor } from '../../core/descriptor.ts'
import type { Digest } from '../../core/digest.ts'

export interface CallOpts {
  signal?: AbortSignal
}

export interface RemoteBlobInfo {
  digest: Digest
  size: number
  /** When the store last saw the blob written or touched (object stores), for touch_refresh. */
  lastModified?: Date
}

/**
 * The only thing a cache backend implements: a content-addressed blob store plus small named
 * documents ("refs": a cache manifest under a tag, a name, a scope key). Every cache backend
 * (local, registry, s3, azblob, gha) is a thin transport behind this interface; the cache format
 * and the export/import logic are written once, above it.
 *
 * Contract (checked by src/testing/cache-transport-suite.ts for every implementation):
 * - `statBlob` of a missing blob resolves undefined (never throws for "not found").
 * - `putBlob` verifies the digest and size of what it uploads where the store allows, and is
 *   idempotent: putting an existing blob succeeds (and may skip the upload). A failed or aborted
 *   upload leaves nothing visible under the digest.
 * - `openBlob` of a missing blob rejects with NotFoundError; the stream it returns may still fail
 *   mid-way (the importer verifies digests while reading).
 * - `readRef` of a missing ref resolves undefined; refs are at most 1 MiB and read whole.
 * - `writeRef` replaces the ref atomically: a reader sees the old or the new document, never a
 *   torn one. Callers write a ref only after every blob it names is in place.
 * - Every method honours `o.signal` and rejects with its reason when aborted.
 * - Credentials never appear in error messages (use core/redact).
 */
export interface CacheTransport {
  readonly kind: 'local' | 'registry' | 'gha' | 's3' | 'azblob'
  /**
   * What a ref holds, as BuildKit writes it: `manifest` (registry, local: an OCI image manifest or
   * index whose config blob is the cache config) or `config` (s3, azblob, gha: the cache config JSON
   * itself, layer metadata in its `layers[].annotations`).
   */
  readonly refForm: 'manifest' | 'config'
  /** Human-readable location for messages, without credentials (`s3://bucket/prefix`). */
  readonly location: string
  statBlob(d: Digest, o?: CallOpts): Promise<RemoteBlobInfo | undefined>
  openBlob(desc: Pick<Descriptor, 'digest' | 'size'>, o?: CallOpts): Promise<Readable>
  /** `body` is a factory so a retry can re-open the source instead of replaying a consumed stream. */
  putBlob(desc: Pick<Descriptor, 'digest' | 'size' | 'mediaType'>, body: () => Promise<Readable> | Readable, o?: CallOpts): Promise<void>
  readRef(name: string, o?: CallOpts): Promise<Uint8Array | undefined>
  writeRef(name: string, doc: Uint8Array, mediaType: string, o?: CallOpts): Promise<void>
  /**
   * Optional: store a blob from a local file whose content is already verified (a content-store
   * blob), e.g. by hard link when source and destination share a filesystem. Same contract as putBlob.
   */
  putBlobFile?(desc: Pick<Descriptor, 'digest' | 'size' | 'mediaType'>, path: string, o?: CallOpts): Promise<void>
  /** Optional: refresh a blob's age in stores that expire or age out unused blobs (s3/azblob touch_refresh, gha). */
  touchBlob?(d: Digest, o?: CallOpts): Promise<void>
}

import type { Readable } from 'node:stream'
import { setTimeout as sleep } from 'node:timers/promises'
import { GetObjectCommand, HeadBucketCommand, HeadObjectCommand, PutObjectCommand } from '@aws-sdk/client-s3'
import type { Descriptor } from '../../../core/descriptor.ts'
import type { Digest } from '../../../core/digest.ts'
import { FailedPreconditionError, findCause, NotFoundError, throwIfAborted, UnavailableError } from '../../../core/errors.ts'
import { readAllLimited } from '../../../core/streams.ts'
import type { CacheTransport, CallOpts, RemoteBlobInfo } from '../../remote/transport.ts'
import { createS3Client, type Env, sendOpts } from './client.ts'
import { partSizeFor, resolveS3Config, type S3TransportConfig, s3BlobKey, s3ManifestKey } from './config.ts'
import { isS3NotFound, s3Error, s3ErrorCode, secretRedactor } from './errors.ts'
import { touchObject } from './touch.ts'
import { uploadVerified } from './upload.ts'
import { SourceStreamError } from '../../remote/source-error.ts'
import { sizeChecked } from '../../../core/streams.ts'

/** Refs are small documents read whole. */
export const MAX_REF_SIZE = 1024 * 1024

/** Injected side effects. `env` supplies AWS_* credentials/profile; `clock` decides touch_refresh. */
export interface S3TransportDeps {
  env: Env
  logger?: { debug(msg: string): void }
  clock?: () => Date
}

/** Whole-upload tries (re-opening the body) after the SDK's own per-request retries gave up. */
const UPLOAD_TRIES = 3

/**
 * The s3 cache transport, with BuildKit's object layout: blobs at `<prefix><blobs_prefix>sha256:<hex>`,
 * refs (raw cache config JSON, refForm `config`) at `<prefix><manifests_prefix><name>`. See
 * CacheTransport for the contract; S3 specifics:
 * - `putBlob` skips the upload when an object of the right size exists, otherwise streams it
 *   (single PUT below the part size, multipart above, `upload_parallelism` parts in flight) and
 *   verifies size and sha256 before the object becomes visible (see upload.ts).
 * - `writeRef` is one PutObject, which S3 makes visible atomically.
 * - `touchBlob` copies a blob onto itself when its LastModified is older than `touch_refresh`.
 * - `openBlob` returns a stream that fails when the object's length differs from `desc.size`.
 */
export function createS3Transport(cfg: S3TransportConfig, deps: S3TransportDeps): CacheTransport {
  const c = resolveS3Config(cfg)
  const { client, source } = createS3Client(c, deps.env)
  const redact = secretRedactor([c.secretAccessKey, c.sessionToken, deps.env.AWS_SECRET_ACCESS_KEY, deps.env.AWS_SESSION_TOKEN])
  const now = deps.clock ?? (() => new Date())
  const debug = (m: string): void => deps.logger?.debug(`cache:s3: ${m}`)
  const uri = (key: string): string => `s3://${c.bucket}/${key}`
  const location = `s3://${c.bucket}/${c.prefix}`
  debug(`${location}: credentials from ${source}`)
  let bucketChecked: Promise<void> | undefined

  /** A HEAD 404 cannot tell a missing key from a missing bucket; ask once per transport. */
  const ensureBucket = (signal: AbortSignal | undefined, op: string): Promise<void> => {
    bucketChecked ??= client.send(new HeadBucketCommand({ Bucket: c.bucket }), sendOpts(signal)).then(
      () => undefined,
      (e: unknown) => {
        const { status, code } = s3ErrorCode(e)
        if (status === 404 || code === 'NoSuchBucket' || code === 'NotFound') {
          bucketChecked = undefined
          throw s3Error(Object.assign(e as object, { name: 'NoSuchBucket' }), { op, uri: `s3://${c.bucket}`, redact })
        }
        // 403 (no s3:ListBucket) or anything else: assume the bucket is there.
      },
    )
    return bucketChecked
  }

  async function head(key: string, op: string, signal: AbortSignal | undefined) {
    throwIfAborted(signal)
    try {
      return await client.send(new HeadObjectCommand({ Bucket: c.bucket, Key: key }), sendOpts(signal))
    } catch (e) {
      if (!signal?.aborted && isS3NotFound(e)) {
        await ensureBucket(signal, op)
        return undefined
      }
      throw s3Error(e, { op, uri: uri(key), redact, signal })
    }
  }

  return {
    kind: 's3',
    refForm: 'config',
    location,

    async statBlob(d: Digest, o: CallOpts = {}): Promise<RemoteBlobInfo | undefined> {
      const h = await head(s3BlobKey(c, d), `stat blob ${d}`, o.signal)
      if (!h) return undefined
      return { digest: d, size: h.ContentLength ?? 0, ...(h.LastModified ? { lastModified: h.LastModified } : {}) }
    },

    async openBlob(desc: Pick<Descriptor, 'digest' | 'size'>, o: CallOpts = {}): Promise<Readable> {
      throwIfAborted(o.signal)
      const key = s3BlobKey(c, desc.digest)
      try {
        const r = await client.send(new GetObjectCommand({ Bucket: c.bucket, Key: key }), sendOpts(o.signal))
        return sizeChecked(r.Body as Readable, desc.size, `s3 cache: ${uri(key)}`)
      } catch (e) {
        if (!o.signal?.aborted && isS3NotFound(e)) {
          throw new NotFoundError(`s3 cache: blob ${desc.digest} not found at ${uri(key)}`, {
            code: 'ERR_CACHE_BLOB_MISSING',
            hint: 'the cache references a blob that was deleted (lifecycle rule?); re-export the cache',
          })
        }
        throw s3Error(e, { op: `open blob ${desc.digest}`, uri: uri(key), redact, signal: o.signal })
      }
    },

    async putBlob(desc, body, o: CallOpts = {}): Promise<void> {
      const key = s3BlobKey(c, desc.digest)
      const existing = await head(key, `stat blob ${desc.digest}`, o.signal)
      if (existing && existing.ContentLength === desc.size) {
        debug(`${uri(key)} exists, upload skipped`)
        return
      }
      for (let attempt = 1; ; attempt++) {
        throwIfAborted(o.signal)
        try {
          const src = await body()
          await uploadVerified({
            client,
            bucket: c.bucket,
            key,
            uri: uri(key),
            desc,
            source: src,
            partSize: partSizeFor(desc.size, c.partSize),
            queueSize: c.uploadParallelism,
            signal: o.signal,
          })
          return
        } catch (e) {
          if (o.signal?.aborted) throw o.signal.reason
          const src = findCause(e, SourceStreamError)
          if (src) throw src.cause
          const err = s3Error(e, { op: `upload blob ${desc.digest}`, uri: uri(key), redact })
          if (!(err instanceof UnavailableError) || attempt >= UPLOAD_TRIES) throw err
          debug(`${err.message}; retrying (${attempt}/${UPLOAD_TRIES})`)
          await sleep(Math.min(8000, 500 * 2 ** attempt), undefined, { signal: o.signal })
        }
      }
    },

    async readRef(name: string, o: CallOpts = {}): Promise<Uint8Array | undefined> {
      throwIfAborted(o.signal)
      const key = s3ManifestKey(c, name)
      try {
        const r = await client.send(new GetObjectCommand({ Bucket: c.bucket, Key: key }), sendOpts(o.signal))
        // A Buffer (a Uint8Array) without copying.
        return await readAllLimited(r.Body as Readable, MAX_REF_SIZE, `s3 cache: ref ${uri(key)}`)
      } catch (e) {
        if (!o.signal?.aborted && isS3NotFound(e)) return undefined
        throw s3Error(e, { op: `read ref ${name}`, uri: uri(key), redact, signal: o.signal })
      }
    },

    async writeRef(name: string, doc: Uint8Array, mediaType: string, o: CallOpts = {}): Promise<void> {
      throwIfAborted(o.signal)
      const key = s3ManifestKey(c, name)
      if (doc.length > MAX_REF_SIZE) {
        throw new FailedPreconditionError(`s3 cache: ref ${uri(key)} is ${doc.length} bytes, more than ${MAX_REF_SIZE}`, { code: 'ERR_TOO_LARGE' })
      }
      try {
        await client.send(
          new PutObjectCommand({ Bucket: c.bucket, Key: key, Body: doc, ContentType: mediaType, ContentLength: doc.length }),
          sendOpts(o.signal),
        )
      } catch (e) {
        throw s3Error(e, { op: `write ref ${name}`, uri: uri(key), redact, signal: o.signal })
      }
    },

    async touchBlob(d: Digest, o: CallOpts = {}): Promise<void> {
      const key = s3BlobKey(c, d)
      const h = await head(key, `touch blob ${d}`, o.signal)
      if (!h) throw new NotFoundError(`s3 cache: cannot touch blob ${d}: not found at ${uri(key)}`, { code: 'ERR_CACHE_BLOB_MISSING' })
      const at = now()
      const age = h.LastModified ? at.getTime() - h.LastModified.getTime() : Number.POSITIVE_INFINITY
      if (age <= c.touchRefreshMs) return
      debug(`touch ${uri(key)} (last modified ${h.LastModified?.toISOString() ?? 'unknown'})`)
      try {
        await touchObject({ client, bucket: c.bucket, key, size: h.ContentLength ?? 0, contentType: h.ContentType, now: at, signal: o.signal })
      } catch (e) {
        throw s3Error(e, { op: `touch blob ${d}`, uri: uri(key), redact, signal: o.signal })
      }
    },
  }
}


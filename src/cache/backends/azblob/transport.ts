import type { Readable } from 'node:stream'
import type { Descriptor } from '../../../core/descriptor.ts'
import type { Digest } from '../../../core/digest.ts'
import { FailedPreconditionError, findCause, NotFoundError, throwIfAborted } from '../../../core/errors.ts'
import { readAllLimited } from '../../../core/streams.ts'
import type { CacheTransport, CallOpts, RemoteBlobInfo } from '../../remote/transport.ts'
import { createAzClient, type Env } from './client.ts'
import { type AzblobTransportConfig, azBlobName, azManifestName, blockSizeFor, resolveAzblobConfig } from './config.ts'
import { azError, azErrorCode, azureRedactor, isAzNotFound } from './errors.ts'
import { uploadStaged } from './upload.ts'
import { SourceStreamError } from '../../remote/source-error.ts'
import { sizeChecked } from '../../../core/streams.ts'

/** Refs are small documents read whole. */
export const MAX_REF_SIZE = 1024 * 1024

/** Injected side effects. `env` may supply AZURE_STORAGE_CONNECTION_STRING. */
export interface AzblobTransportDeps {
  env: Env
  logger?: { debug(msg: string): void }
  clock?: () => Date
}

const abortOpt = (signal: AbortSignal | undefined): { abortSignal?: AbortSignal } => (signal ? { abortSignal: signal } : {})

/**
 * The azblob cache transport, with BuildKit's blob names: blobs `<prefix>/<blobs_prefix>/sha256:<hex>`,
 * refs (raw cache config JSON, refForm `config`) `<prefix>/<manifests_prefix>/<name>`, path-joined
 * as Go's path.Join does. See CacheTransport for the contract; Azure specifics:
 * - The container is created (if missing) before the first write; reads of a missing container
 *   behave as an empty cache.
 * - `putBlob` skips blobs already present with the right size; otherwise it stages blocks while
 *   hashing and commits the block list only after the digest matched (see upload.ts), with
 *   `If-None-Match: *` as BuildKit does (a concurrent identical upload counts as success). A
 *   present blob of the wrong size (truncated) is replaced.
 * - `writeRef` is one Put Blob, which Azure makes visible atomically (last writer wins).
 * - No `touchBlob`: Azure has no age-based expiry tied to BuildKit's touch.
 */
export function createAzblobTransport(cfg: AzblobTransportConfig, deps: AzblobTransportDeps): CacheTransport {
  const c = resolveAzblobConfig(cfg)
  const az = createAzClient(c, deps.env)
  const redact = azureRedactor([...az.secrets, c.secretAccessKey])
  const debug = (m: string): void => deps.logger?.debug(`cache:azblob: ${m}`)
  const base = `azblob://${c.accountName ?? az.accountName ?? new URL(az.publicUrl).host}/${c.container}`
  const uri = (name: string): string => `${base}/${name}`
  debug(`${base}: credentials from ${az.source}`)
  let containerReady: Promise<void> | undefined

  const ensureContainer = (signal: AbortSignal | undefined): Promise<void> => {
    containerReady ??= az.container.createIfNotExists(abortOpt(signal)).then(
      () => undefined,
      (e: unknown) => {
        const { status } = azErrorCode(e)
        // A SAS without container permissions may still write blobs into an existing container.
        if (status === 403) return
        containerReady = undefined
        throw azError(e, { op: 'create container', uri: base, redact, signal })
      },
    )
    return containerReady
  }

  async function props(name: string, op: string, signal: AbortSignal | undefined) {
    throwIfAborted(signal)
    try {
      return await az.container.getBlobClient(name).getProperties(abortOpt(signal))
    } catch (e) {
      if (!signal?.aborted && isAzNotFound(e)) return undefined
      throw azError(e, { op, uri: uri(name), redact, signal })
    }
  }

  return {
    kind: 'azblob',
    refForm: 'config',
    location: c.prefix ? `${base}/${c.prefix}` : base,

    async statBlob(d: Digest, o: CallOpts = {}): Promise<RemoteBlobInfo | undefined> {
      const p = await props(azBlobName(c, d), `stat blob ${d}`, o.signal)
      if (!p) return undefined
      return { digest: d, size: p.contentLength ?? 0, ...(p.lastModified ? { lastModified: p.lastModified } : {}) }
    },

    async openBlob(desc: Pick<Descriptor, 'digest' | 'size'>, o: CallOpts = {}): Promise<Readable> {
      throwIfAborted(o.signal)
      const name = azBlobName(c, desc.digest)
      try {
        const r = await az.container.getBlobClient(name).download(0, undefined, { ...abortOpt(o.signal), maxRetryRequests: 3 })
        const body = r.readableStreamBody
        if (!body) throw new FailedPreconditionError(`azblob cache: ${uri(name)}: download returned no body`)
        return sizeChecked(body as Readable, desc.size, `azblob cache: ${uri(name)}`)
      } catch (e) {
        if (!o.signal?.aborted && isAzNotFound(e)) {
          throw new NotFoundError(`azblob cache: blob ${desc.digest} not found at ${uri(name)}`, {
            code: 'ERR_CACHE_BLOB_MISSING',
            hint: 'the cache references a blob that was deleted; re-export the cache',
          })
        }
        throw azError(e, { op: `open blob ${desc.digest}`, uri: uri(name), redact, signal: o.signal })
      }
    },

    async putBlob(desc, body, o: CallOpts = {}): Promise<void> {
      const name = azBlobName(c, desc.digest)
      const existing = await props(name, `stat blob ${desc.digest}`, o.signal)
      if (existing && existing.contentLength === desc.size) {
        debug(`${uri(name)} exists, upload skipped`)
        return
      }
      await ensureContainer(o.signal)
      throwIfAborted(o.signal)
      try {
        const committed = await uploadStaged({
          blob: az.container.getBlockBlobClient(name),
          uri: uri(name),
          desc,
          source: await body(),
          blockSize: blockSizeFor(desc.size, c.blockSize),
          concurrency: c.uploadConcurrency,
          createOnly: existing === undefined,
          signal: o.signal,
        })
        if (!committed) debug(`${uri(name)} was committed concurrently`)
      } catch (e) {
        if (o.signal?.aborted) throw o.signal.reason
        const src = findCause(e, SourceStreamError)
        if (src) throw src.cause
        throw azError(e, { op: `upload blob ${desc.digest}`, uri: uri(name), redact })
      }
    },

    async readRef(name: string, o: CallOpts = {}): Promise<Uint8Array | undefined> {
      throwIfAborted(o.signal)
      const blob = azManifestName(c, name)
      try {
        const r = await az.container.getBlobClient(blob).download(0, undefined, abortOpt(o.signal))
        if (!r.readableStreamBody) return Buffer.alloc(0)
        return await readAllLimited(r.readableStreamBody as Readable, MAX_REF_SIZE, `azblob cache: ref ${uri(blob)}`)
      } catch (e) {
        if (!o.signal?.aborted && isAzNotFound(e)) return undefined
        throw azError(e, { op: `read ref ${name}`, uri: uri(blob), redact, signal: o.signal })
      }
    },

    async writeRef(name: string, doc: Uint8Array, mediaType: string, o: CallOpts = {}): Promise<void> {
      throwIfAborted(o.signal)
      const blob = azManifestName(c, name)
      if (doc.length > MAX_REF_SIZE) {
        throw new FailedPreconditionError(`azblob cache: ref ${uri(blob)} is ${doc.length} bytes, more than ${MAX_REF_SIZE}`, { code: 'ERR_TOO_LARGE' })
      }
      await ensureContainer(o.signal)
      try {
        await az.container.getBlockBlobClient(blob).upload(doc, doc.length, { blobHTTPHeaders: { blobContentType: mediaType }, ...abortOpt(o.signal) })
      } catch (e) {
        throw azError(e, { op: `write ref ${name}`, uri: uri(blob), redact, signal: o.signal })
      }
    },
  }
}


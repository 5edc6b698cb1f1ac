import type { Readable } from 'node:stream'
import { pipeline } from 'node:stream/promises'
import type { Digest } from '../../../core/digest.ts'
import { CairnError, FailedPreconditionError, NotFoundError, throwIfAborted } from '../../../core/errors.ts'
import { HashingStream, readAllLimited } from '../../../core/streams.ts'
import type { CacheTransport, CallOpts, RemoteBlobInfo } from '../../remote/transport.ts'
import type { CacheApi, FoundEntry } from './api.ts'
import { getSigned, headSigned } from './azure-blob.ts'
import { type GhaTransportConfig, resolveGhaConfig } from './config.ts'
import { defaultSleep, type GhaHttpDeps } from './http.ts'
import { blobKey, checkScopeAttr, indexKey } from './keys.ts'
import { createV1Api } from './protocol-v1.ts'
import { createV2Api } from './protocol-v2.ts'
import { saveMutable } from './save-mutable.ts'
import { checkTokenTime, parseRuntimeToken, readScopes, writeScope } from './token.ts'
import { uploadChunked } from './upload.ts'

export interface GhaTransportDeps {
  fetch?: typeof fetch
  /** The runner environment (ACTIONS_RUNTIME_TOKEN, ACTIONS_CACHE_URL, ACTIONS_RESULTS_URL, ACTIONS_CACHE_SERVICE_V2). */
  env: Readonly<Record<string, string | undefined>>
  /** Milliseconds since the epoch; default Date.now. */
  clock?: () => number
  /** Backoff sleep; default timers/promises setTimeout. */
  sleep?: (ms: number, signal?: AbortSignal) => Promise<void>
}

/** One scope's index entry, as BuildKit's importer loads it (one per GitHub scope in the token). */
export interface GhaIndexEntry {
  githubScope: string
  key: string
  doc: Uint8Array
}

/**
 * The GitHub Actions cache as a CacheTransport (BuildKit's `type=gha`). Refs are index entries:
 * `readRef(name)`/`writeRef(name)` take the BuildKit `scope` attribute as the name (`scope` below
 * is the configured default). Blobs are the shared `buildkit-blob-1-<digest>` entries.
 */
export interface GhaTransport extends CacheTransport {
  readonly kind: 'gha'
  readonly refForm: 'config'
  /** The configured `scope` attribute: the ref name callers should use. */
  readonly scope: string
  readonly protocol: 1 | 2
  /** Every readable GitHub scope's newest index for `name` (BuildKit imports and merges them all). */
  readRefs(name: string, o?: CallOpts): Promise<GhaIndexEntry[]>
}

function checkContent(got: { digest: Digest; size: number }, desc: { digest: Digest; size: number }): void {
  if (got.digest === desc.digest && got.size === desc.size) return
  throw new FailedPreconditionError(
    `upload of ${desc.digest} to the GitHub Actions cache read ${got.size} bytes with digest ${got.digest}, expected ${desc.size} bytes`,
    {
      code: 'ERR_DIGEST_MISMATCH',
      hint: 'the local content changed or is corrupt; the entry was not committed',
    },
  )
}

async function verifyOnly(source: Readable, desc: { digest: Digest; size: number }, signal?: AbortSignal): Promise<void> {
  const h = new HashingStream()
  await pipeline(
    source,
    h,
    async (chunks: AsyncIterable<Buffer>) => {
      for await (const _ of chunks) {
        /* hash only */
      }
    },
    signal ? { signal } : {},
  )
  checkContent({ digest: h.digest(), size: h.size }, desc)
}

/** Index documents are read whole; BuildKit sets no size limit on gha indexes, this bounds memory. */
const MAX_INDEX_BYTES = 32 << 20

export function createGhaTransport(cfg: GhaTransportConfig, deps: GhaTransportDeps): GhaTransport {
  const rc = resolveGhaConfig(cfg, deps.env)
  const claims = parseRuntimeToken(rc.token)
  const http: GhaHttpDeps = {
    fetch: deps.fetch ?? globalThis.fetch,
    now: deps.clock ?? Date.now,
    sleep: deps.sleep ?? defaultSleep,
  }
  const ctx = { deps: http, baseUrl: rc.baseUrl, token: rc.token, timeoutMs: rc.timeoutMs, secrets: [rc.token] }
  const api: CacheApi = rc.protocol === 2 ? createV2Api(ctx) : createV1Api(ctx)
  const dp = { deps: http, timeoutMs: rc.timeoutMs }
  const origin = new URL(rc.baseUrl).origin

  const begin = (o?: CallOpts): { signal?: AbortSignal } => {
    throwIfAborted(o?.signal)
    checkTokenTime(claims, http.now())
    return o?.signal ? { signal: o.signal } : {}
  }

  /** Exact-key lookup: a restore-key prefix match (e.g. a `-sig` entry) is not the entry. */
  const findExact = async (key: string, o: { signal?: AbortSignal }): Promise<FoundEntry | undefined> => {
    const e = await api.lookup(key, [], o)
    return e !== undefined && e.key === key ? e : undefined
  }

  const download = async (key: string, o: { signal?: AbortSignal }): Promise<{ stream: Readable; size: number }> => {
    // The Go client re-requests the download URL once on 401/403 (the signed URL may have expired).
    for (let attempt = 0; attempt < 2; attempt++) {
      const e = await findExact(key, o)
      if (e === undefined)
        throw new NotFoundError(`${key} not found in the GitHub Actions cache (${origin})`, {
          hint: 'the entry was never written or was evicted; the build will recompute it',
        })
      const r = await getSigned(dp, e.url, key, o)
      if (r !== 'denied') return r
    }
    throw new CairnError('ERR_GHA_SIGNED_URL', `GitHub Actions cache storage refused the download URL for ${key} twice`, {
      hint: 'retry the build; if it persists the cache service is misbehaving',
    })
  }

  const loadIndex = async (githubScope: string, name: string, o: { signal?: AbortSignal }): Promise<GhaIndexEntry | undefined> => {
    const base = `${indexKey(name, githubScope)}#`
    const e = await api.lookup(base, [base], o)
    if (e === undefined || !e.key.startsWith(base)) return undefined
    const r = await getSigned(dp, e.url, e.key, o)
    if (r === 'denied') return undefined
    const doc = await readAllLimited(r.stream, MAX_INDEX_BYTES, `gha cache index ${e.key}`)
    return { githubScope, key: e.key, doc: new Uint8Array(doc.buffer, doc.byteOffset, doc.byteLength) }
  }

  return {
    kind: 'gha',
    refForm: 'config',
    scope: rc.scope,
    protocol: rc.protocol,
    location: `gha (cache service v${rc.protocol} at ${origin}, scope ${rc.scope})`,

    async statBlob(d: Digest, o?: CallOpts): Promise<RemoteBlobInfo | undefined> {
      const so = begin(o)
      const key = blobKey(d)
      const e = await findExact(key, so)
      if (e === undefined) return undefined
      const props = await headSigned(dp, e.url, key, so)
      if (props === undefined) return undefined
      const info: RemoteBlobInfo = { digest: d, size: props.size }
      if (props.lastModified) info.lastModified = props.lastModified
      return info
    },

    async openBlob(desc, o): Promise<Readable> {
      const so = begin(o)
      const key = blobKey(desc.digest)
      const r = await download(key, so)
      if (r.size >= 0 && r.size !== desc.size) {
        r.stream.destroy()
        throw new FailedPreconditionError(`${key} in the GitHub Actions cache is ${r.size} bytes, expected ${desc.size}`, {
          code: 'ERR_SIZE_MISMATCH',
          hint: 'the cache entry is corrupt or belongs to another blob; the build will recompute it',
        })
      }
      return r.stream
    },

    async putBlob(desc, body, o): Promise<void> {
      const so = begin(o)
      const key = blobKey(desc.digest)
      const reservation = await api.reserve(key, desc.size, so)
      if (reservation === undefined) {
        // "Already exists" is success: entries are immutable and keyed by digest (BuildKit skips).
        if ((await findExact(key, so)) !== undefined) return
        // Reserved but not committed: another writer is uploading it, or an earlier attempt died
        // (the service keeps such reservations for a while and offers no way to cancel them). We
        // cannot upload; still verify what we were asked to store, then leave it to the holder.
        await verifyOnly(await body(), desc, so.signal)
        return
      }
      const source = await body()
      const up = await uploadChunked(
        source,
        rc.chunkSize,
        rc.uploadConcurrency,
        (i, off, bytes, signal) => reservation.putChunk(i, off, bytes, { signal }),
        so.signal,
      )
      // Not committed on a mismatch, so nothing becomes visible under the key.
      checkContent(up, desc)
      await reservation.commit(up.chunks, up.size, so)
    },

    async readRef(name, o): Promise<Uint8Array | undefined> {
      const so = begin(o)
      checkScopeAttr(name)
      for (const s of readScopes(claims)) {
        const e = await loadIndex(s, name, so)
        if (e !== undefined) return e.doc
      }
      return undefined
    },

    async readRefs(name, o): Promise<GhaIndexEntry[]> {
      const so = begin(o)
      checkScopeAttr(name)
      const all = await Promise.all(readScopes(claims).map((s) => loadIndex(s, name, so)))
      return all.filter((e): e is GhaIndexEntry => e !== undefined)
    },

    async writeRef(name, doc, _mediaType, o): Promise<void> {
      const so = begin(o)
      checkScopeAttr(name)
      const ws = writeScope(claims)
      if (ws === undefined) {
        throw new CairnError('ERR_GHA_READ_ONLY', `GitHub Actions cache: the runtime token has no writable scope, cannot export cache scope ${name}`, {
          hint: 'pull requests from forks get read-only cache access; export the cache only from pushes to branches of the repository',
        })
      }
      await saveMutable(api, http, indexKey(name, ws), doc, rc.chunkSize, so)
    },

    async touchBlob(d, o): Promise<void> {
      const so = begin(o)
      // A lookup counts as an access for the service's least-recently-used eviction.
      if ((await findExact(blobKey(d), so)) === undefined) {
        throw new NotFoundError(`${blobKey(d)} not found in the GitHub Actions cache (${origin})`, { hint: 'the entry was evicted; upload it again' })
      }
    },
  }
}

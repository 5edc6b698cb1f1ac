import type { Readable } from 'node:stream'
import type { Digest } from '../core/digest.ts'
import { NotFoundError } from '../core/errors.ts'
import { type ImageRef, parseImageRef } from '../oci/reference.ts'
import { Authenticator, repoScope } from './auth.ts'
import { openBlob } from './blob-download.ts'
import { type BlobBody, startUpload, uploadChunked, uploadMonolithic } from './blob-upload.ts'
import type { CredentialStore } from './credentials.ts'
import type { RegistryOpContext } from './errors.ts'
import { ALL_MANIFEST_TYPES, getManifest, headManifest, listTags, type ManifestCall, type ManifestInfo, type ManifestResult, putManifest } from './manifests.ts'
import { DEFAULT_RETRY, type RetryPolicy, sleep as realSleep, type SleepFn } from './retry.ts'
import { discard, type Endpoint, Transport } from './transport.ts'

export interface RegistryClientOptions {
  /** Defaults to the global fetch (undici). */
  fetch?: typeof fetch
  /** Where credentials come from; none = anonymous. */
  credentials?: CredentialStore
  /** Hosts (as written in references, e.g. `reg.internal:5000`) to reach over plain HTTP. Loopback hosts always are. */
  insecure?: (registry: string) => boolean
  userAgent?: string
  retry?: Partial<RetryPolicy>
  /** Injectable time source (ms since epoch) and delay, for tests. */
  now?: () => number
  sleep?: SleepFn
  random?: () => number
  /** Blobs larger than this are uploaded in chunks (default 64 MiB). */
  monolithicMaxSize?: number
  /** PATCH size for chunked uploads (default 16 MiB). */
  chunkSize?: number
}

export interface CallOptions {
  signal?: AbortSignal
}

export interface PutBlobOptions extends CallOptions {
  /** 'auto' (default): monolithic up to `monolithicMaxSize`, chunked above. */
  upload?: 'auto' | 'monolithic' | 'chunked'
  chunkSize?: number
}

/**
 * One repository on one registry. Every method takes an AbortSignal and rejects with its reason
 * when aborted. Failures are CairnErrors naming registry, repository and operation: NotFoundError
 * (404), RegistryAuthError (401/403, hint: docker login), InvalidArgumentError with code
 * ERR_REGISTRY_MANIFEST_INVALID (the registry's error code and message), FailedPreconditionError
 * (digest/size mismatch), UnavailableError (after retries). Credentials never appear in messages.
 */
export interface RegistryRepository {
  /** `127.0.0.1:5000`, `docker.io`. */
  readonly registry: string
  /** `team/app`, `library/busybox`. */
  readonly repository: string
  /** Size of a blob, or undefined when the repository does not have it. */
  headBlob(digest: Digest, o?: CallOptions): Promise<{ size: number } | undefined>
  /** Streams a blob (from `start`), resuming on dropped connections and verifying size and digest. */
  getBlob(desc: { digest: Digest; size?: number }, o?: CallOptions & { start?: number }): Promise<Readable>
  /** Uploads a blob unless present; resolves once the registry confirmed the digest. `body` is re-opened on retry. */
  putBlob(desc: { digest: Digest; size: number }, body: BlobBody, o?: PutBlobOptions): Promise<void>
  /**
   * Cross-repository mount from `fromRepository` (a path on the same registry). If the registry
   * answers 202 (no mount), uploads instead: from `o.body` when given, else by streaming the blob
   * out of `fromRepository`. Resolves how the blob got here.
   */
  mountBlob(desc: { digest: Digest; size?: number }, fromRepository: string, o?: CallOptions & { body?: BlobBody }): Promise<'mounted' | 'uploaded'>
  /** GET by tag or digest (≤ 4 MiB; a digest reference is verified). `accept` defaults to every manifest/index type. */
  getManifest(ref: string, accept?: readonly string[], o?: CallOptions): Promise<ManifestResult>
  headManifest(ref: string, accept?: readonly string[], o?: CallOptions): Promise<ManifestInfo | undefined>
  /** PUT under a tag or digest; resolves the digest (checked against Docker-Content-Digest). */
  putManifest(ref: string, bytes: Uint8Array, mediaType: string, o?: CallOptions): Promise<Digest>
  listTags(o?: CallOptions & { pageSize?: number }): Promise<string[]>
}

export interface RegistryClient {
  /** A repository from `host[:port]/path` (a tag or digest in the string is ignored) or a parsed reference. */
  repo(nameOrRef: string | ImageRef): RegistryRepository
}

const DEFAULT_MONOLITHIC_MAX = 64 * 1024 * 1024
const DEFAULT_CHUNK = 16 * 1024 * 1024

/** 127.0.0.0/8, localhost and ::1 (with or without a port) are reached over plain HTTP. */
export function isLoopbackHost(registry: string): boolean {
  const bareIpv6 = !registry.startsWith('[') && registry.split(':').length > 2
  const host = registry.startsWith('[') ? registry.slice(1, registry.indexOf(']')) : bareIpv6 ? registry : registry.replace(/:\d+$/, '')
  return host === 'localhost' || host === '::1' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(host)
}

/** docker.io is served by registry-1.docker.io. */
export const registryHost = (registry: string): string => (registry === 'docker.io' || registry === 'index.docker.io' ? 'registry-1.docker.io' : registry)

/** Builds a client; nothing is contacted until a repository method is called. */
export function createRegistryClient(opts: RegistryClientOptions = {}): RegistryClient {
  const fetchFn = opts.fetch ?? globalThis.fetch
  const now = opts.now ?? Date.now
  const userAgent = opts.userAgent ?? 'cairn'
  const auth = new Authenticator({ fetch: fetchFn, credentials: opts.credentials, now, userAgent })
  const transport = new Transport({
    fetch: fetchFn,
    auth,
    retry: { ...DEFAULT_RETRY, ...opts.retry },
    sleep: opts.sleep ?? realSleep,
    now,
    random: opts.random ?? Math.random,
    userAgent,
  })
  const endpoint = (registry: string): Endpoint => {
    const host = registryHost(registry)
    const plain = isLoopbackHost(host) || (opts.insecure?.(registry) ?? false)
    return { registry, host, base: `${plain ? 'http' : 'https'}://${host}` }
  }
  return {
    repo(nameOrRef) {
      const ref = typeof nameOrRef === 'string' ? parseImageRef(nameOrRef) : nameOrRef
      return createRepository(transport, endpoint(ref.domain), ref.path, opts)
    },
  }
}

function createRepository(transport: Transport, ep: Endpoint, repository: string, opts: RegistryClientOptions): RegistryRepository {
  const pull = [repoScope(repository, 'pull')]
  const push = [repoScope(repository, 'pull,push')]
  const ctx = (op: string): RegistryOpContext => ({ registry: ep.registry, repository, op })
  const mc = (scopes: readonly string[], o?: CallOptions): ManifestCall => ({ transport, endpoint: ep, repository, scopes, signal: o?.signal })

  const repo: RegistryRepository = {
    registry: ep.registry,
    repository,
    async headBlob(digest, o) {
      const res = await transport.send(ep, {
        method: 'HEAD',
        url: `/v2/${repository}/blobs/${digest}`,
        scopes: pull,
        ctx: ctx(`head blob ${digest}`),
        ok: [200, 404],
        signal: o?.signal,
      })
      await discard(res)
      if (res.status === 404) return undefined
      return { size: Number(res.headers.get('content-length') ?? 0) }
    },
    getBlob(desc, o) {
      return openBlob({ transport, endpoint: ep, repository, scopes: pull, desc, start: o?.start ?? 0, signal: o?.signal })
    },
    async putBlob(desc, body, o) {
      if (await repo.headBlob(desc.digest, o)) return
      const u = { transport, endpoint: ep, repository, scopes: push, desc, body, ctx: ctx(`push blob ${desc.digest}`), signal: o?.signal }
      const mode = o?.upload ?? 'auto'
      const chunked = mode === 'chunked' || (mode === 'auto' && desc.size > (opts.monolithicMaxSize ?? DEFAULT_MONOLITHIC_MAX))
      if (chunked) await uploadChunked(u, o?.chunkSize ?? opts.chunkSize ?? DEFAULT_CHUNK)
      else await uploadMonolithic(u)
    },
    async mountBlob(desc, fromRepository, o) {
      const from = fromRepository.startsWith(`${ep.registry}/`) ? fromRepository.slice(ep.registry.length + 1) : fromRepository
      const base = {
        transport,
        endpoint: ep,
        repository,
        scopes: [...push, repoScope(from, 'pull')],
        ctx: ctx(`mount blob ${desc.digest} from ${from}`),
        signal: o?.signal,
      }
      const started = await startUpload({ ...base, desc: { digest: desc.digest, size: desc.size ?? 0 } }, { mount: desc.digest, from })
      if (started === 'created') return 'mounted'
      let size = desc.size
      let body = o?.body
      if (!body || size === undefined) {
        const source = createRepository(transport, ep, from, opts)
        const info = await source.headBlob(desc.digest, o)
        if (!info) {
          throw new NotFoundError(`${ep.registry}/${repository}: mount blob ${desc.digest} from ${from}: blob not found in ${ep.registry}/${from}`, {
            code: 'ERR_REGISTRY_NOT_FOUND',
            hint: 'push the blob instead of mounting it',
          })
        }
        size = info.size
        body ??= () => source.getBlob({ digest: desc.digest, size: info.size }, o)
      }
      await uploadMonolithic({ ...base, desc: { digest: desc.digest, size }, body }, started)
      return 'uploaded'
    },
    getManifest: (ref, accept = ALL_MANIFEST_TYPES, o) => getManifest(mc(pull, o), ref, accept),
    headManifest: (ref, accept = ALL_MANIFEST_TYPES, o) => headManifest(mc(pull, o), ref, accept),
    putManifest: (ref, bytes, mediaType, o) => putManifest(mc(push, o), ref, bytes, mediaType),
    listTags: (o) => listTags(mc(pull, o), o?.pageSize),
  }
  return repo
}

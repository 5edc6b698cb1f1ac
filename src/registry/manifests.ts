import { type Digest, isDigest, sha256 } from '../core/digest.ts'
import { CairnError, FailedPreconditionError, findCause, NotFoundError } from '../core/errors.ts'
import { readAllLimited } from '../core/streams.ts'
import { MediaType } from '../oci/media-types.ts'
import { type RegistryOpContext, where } from './errors.ts'
import { discard, type Endpoint, type Transport } from './transport.ts'

/** Largest manifest the client reads (the distribution spec's recommended limit). */
export const MANIFEST_LIMIT = 4 * 1024 * 1024

/** Every manifest type cairn understands, for `Accept`. */
export const ALL_MANIFEST_TYPES: readonly string[] = [MediaType.ociIndex, MediaType.ociManifest, MediaType.dockerManifestList, MediaType.dockerManifest]

export interface ManifestResult {
  bytes: Uint8Array
  mediaType: string
  digest: Digest
}

export interface ManifestInfo {
  digest: Digest
  size: number
  mediaType: string
}

export interface ManifestCall {
  transport: Transport
  endpoint: Endpoint
  repository: string
  scopes: readonly string[]
  signal?: AbortSignal | undefined
}

const ctxOf = (c: ManifestCall, op: string): RegistryOpContext => ({ registry: c.endpoint.registry, repository: c.repository, op })
const mediaTypeOf = (res: Response): string => (res.headers.get('content-type') ?? '').split(';')[0]?.trim() ?? ''

/** GET a manifest by tag or digest; a digest reference is verified against the bytes. */
export async function getManifest(c: ManifestCall, ref: string, accept: readonly string[]): Promise<ManifestResult> {
  const ctx = ctxOf(c, `get manifest ${ref}`)
  const res = await c.transport.send(c.endpoint, {
    method: 'GET',
    url: `/v2/${c.repository}/manifests/${ref}`,
    headers: { accept: accept.join(', ') },
    scopes: c.scopes,
    ctx,
    ok: [200],
    what: `manifest ${ref}`,
    signal: c.signal,
  })
  let bytes: Buffer
  try {
    bytes = await readAllLimited((res.body ?? []) as AsyncIterable<Buffer>, MANIFEST_LIMIT, 'manifest')
  } catch (err) {
    if (c.signal?.aborted) throw c.signal.reason
    const own = findCause(err, CairnError)
    if (own)
      throw new FailedPreconditionError(`${where(ctx)}: manifest is larger than ${MANIFEST_LIMIT} bytes`, {
        code: 'ERR_REGISTRY_MANIFEST_TOO_LARGE',
        cause: err,
      })
    throw err
  }
  const digest = sha256(bytes)
  if (isDigest(ref) && digest !== ref) {
    throw new FailedPreconditionError(`${where(ctx)}: content digest mismatch: got ${digest}`, { code: 'ERR_REGISTRY_DIGEST_MISMATCH' })
  }
  let mediaType = mediaTypeOf(res)
  if (!accept.includes(mediaType)) {
    try {
      const doc = JSON.parse(bytes.toString('utf8')) as { mediaType?: unknown }
      if (typeof doc.mediaType === 'string') mediaType = doc.mediaType
    } catch {
      // Keep the header's media type; the caller's parser will report the bad document.
    }
  }
  return { bytes: new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength), mediaType, digest }
}

/** HEAD a manifest; undefined when it does not exist. Falls back to GET when the registry omits the digest header. */
export async function headManifest(c: ManifestCall, ref: string, accept: readonly string[]): Promise<ManifestInfo | undefined> {
  const ctx = ctxOf(c, `head manifest ${ref}`)
  const res = await c.transport.send(c.endpoint, {
    method: 'HEAD',
    url: `/v2/${c.repository}/manifests/${ref}`,
    headers: { accept: accept.join(', ') },
    scopes: c.scopes,
    ctx,
    ok: [200, 404],
    signal: c.signal,
  })
  await discard(res)
  if (res.status === 404) return undefined
  const digest = res.headers.get('docker-content-digest')
  const size = Number(res.headers.get('content-length'))
  if (digest && isDigest(digest) && Number.isFinite(size)) return { digest, size, mediaType: mediaTypeOf(res) }
  try {
    const m = await getManifest(c, ref, accept)
    return { digest: m.digest, size: m.bytes.length, mediaType: m.mediaType }
  } catch (err) {
    if (findCause(err, NotFoundError)) return undefined
    throw err
  }
}

/** PUT a manifest under a tag (or its digest); resolves the digest the registry confirmed. */
export async function putManifest(c: ManifestCall, ref: string, bytes: Uint8Array, mediaType: string): Promise<Digest> {
  const digest = sha256(bytes)
  const ctx = ctxOf(c, `put manifest ${ref} (${mediaType})`)
  if (isDigest(ref) && ref !== digest) {
    throw new FailedPreconditionError(`${where(ctx)}: the manifest bytes hash to ${digest}, not ${ref}`, { code: 'ERR_REGISTRY_DIGEST_MISMATCH' })
  }
  const res = await c.transport.send(c.endpoint, {
    method: 'PUT',
    url: `/v2/${c.repository}/manifests/${ref}`,
    headers: { 'content-type': mediaType, 'content-length': String(bytes.length) },
    body: () => bytes,
    scopes: c.scopes,
    ctx,
    ok: [201, 200],
    signal: c.signal,
  })
  await discard(res)
  const confirmed = res.headers.get('docker-content-digest')
  if (confirmed && confirmed !== digest) {
    throw new FailedPreconditionError(`${where(ctx)}: the registry stored the manifest as ${confirmed}, expected ${digest}`, {
      code: 'ERR_REGISTRY_DIGEST_MISMATCH',
      hint: 'the registry rewrote the manifest; push it by digest or use a registry that stores manifests verbatim',
    })
  }
  return digest
}

/** All tags, following `Link: <…>; rel="next"` pages. */
export async function listTags(c: ManifestCall, pageSize?: number): Promise<string[]> {
  const ctx = ctxOf(c, 'list tags')
  const tags: string[] = []
  let next: URL | undefined = new URL(`/v2/${c.repository}/tags/list`, c.endpoint.base)
  if (pageSize !== undefined) next.searchParams.set('n', String(pageSize))
  for (let page = 0; next && page < 10_000; page++) {
    const res: Response = await c.transport.send(c.endpoint, {
      method: 'GET',
      url: next,
      scopes: c.scopes,
      ctx,
      ok: [200],
      what: 'repository',
      signal: c.signal,
    })
    const link = res.headers.get('link')
    const body = await readAllLimited((res.body ?? []) as AsyncIterable<Buffer>, 16 * 1024 * 1024, 'tag list')
    let doc: { tags?: unknown }
    try {
      doc = JSON.parse(body.toString('utf8')) as typeof doc
    } catch {
      throw new CairnError('ERR_REGISTRY_PROTOCOL', `${where(ctx)}: the tag list is not JSON`)
    }
    if (Array.isArray(doc.tags)) tags.push(...doc.tags.filter((t): t is string => typeof t === 'string'))
    const m = link ? /<([^>]+)>\s*;\s*rel="?next"?/.exec(link) : null
    next = m ? new URL(m[1] as string, c.endpoint.base) : undefined
  }
  return tags
}

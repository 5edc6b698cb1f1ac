import { Readable } from 'node:stream'
import { CairnError, NotFoundError } from '../../../core/errors.ts'
import type { ApiCallOpts } from './api.ts'
import { callWithRetry, type GhaHttpDeps, readServiceError, redact } from './http.ts'

/**
 * The v2 data plane: Azure Blob Storage through pre-signed (SAS) URLs. No token is sent; the
 * signature in the query string is the credential and never goes into a message.
 */

const withQuery = (url: string, q: string): string => `${url}${url.includes('?') ? '&' : '?'}${q}`

/** Block IDs must all have the same length within a blob. */
export const blockId = (index: number): string => Buffer.from(`cairn-block-${String(index).padStart(8, '0')}`).toString('base64')

async function dataPlaneFailure(res: Response, what: string): Promise<CairnError> {
  const e = await readServiceError(res)
  const said = e.message ? `: ${redact(e.message, [])}` : ''
  if (res.status === 401 || res.status === 403) {
    return new CairnError('ERR_GHA_SIGNED_URL', `GitHub Actions cache storage refused the signed URL (${res.status}) for ${what}${said}`, {
      hint: 'signed storage URLs expire after a while; retry the build, and keep long exports within the job that created them',
    })
  }
  return new CairnError('ERR_GHA_STORAGE', `GitHub Actions cache storage: ${what} failed with HTTP ${res.status}${said}`, {
    hint: 'if this persists, set ignore-error=true on the cache export so the build itself does not fail',
  })
}

export interface DataPlane {
  deps: GhaHttpDeps
  timeoutMs: number
}

export async function putBlock(dp: DataPlane, sasUrl: string, index: number, bytes: Uint8Array, what: string, o: ApiCallOpts): Promise<void> {
  const res = await callWithRetry(dp.deps, {
    method: 'PUT',
    url: withQuery(sasUrl, `comp=block&blockid=${encodeURIComponent(blockId(index))}`),
    headers: { 'content-type': 'application/octet-stream' },
    body: bytes,
    what: `Put Block ${index} of ${what}`,
    deadline: dp.deps.now() + dp.timeoutMs,
    ...(o.signal ? { signal: o.signal } : {}),
  })
  if (res.status !== 201 && res.status !== 200) throw await dataPlaneFailure(res, `Put Block ${index} of ${what}`)
  await res.body?.cancel().catch(() => {})
}

export async function putBlockList(dp: DataPlane, sasUrl: string, chunks: number, what: string, o: ApiCallOpts): Promise<void> {
  let xml = '<?xml version="1.0" encoding="utf-8"?><BlockList>'
  for (let i = 0; i < chunks; i++) xml += `<Latest>${blockId(i)}</Latest>`
  xml += '</BlockList>'
  const res = await callWithRetry(dp.deps, {
    method: 'PUT',
    url: withQuery(sasUrl, 'comp=blocklist'),
    headers: { 'content-type': 'application/xml', 'x-ms-blob-content-type': 'application/octet-stream' },
    body: xml,
    what: `Put Block List of ${what}`,
    deadline: dp.deps.now() + dp.timeoutMs,
    ...(o.signal ? { signal: o.signal } : {}),
  })
  if (res.status !== 201 && res.status !== 200) throw await dataPlaneFailure(res, `Put Block List of ${what}`)
  await res.body?.cancel().catch(() => {})
}

export interface BlobProps {
  size: number
  lastModified?: Date
}

/** HEAD of a download URL: size and age, or undefined when storage no longer has it. */
export async function headSigned(dp: DataPlane, url: string, what: string, o: ApiCallOpts): Promise<BlobProps | undefined> {
  const res = await callWithRetry(dp.deps, {
    method: 'HEAD',
    url,
    what: `HEAD ${what}`,
    deadline: dp.deps.now() + dp.timeoutMs,
    ...(o.signal ? { signal: o.signal } : {}),
  })
  if (res.status === 404) return undefined
  if (!res.ok) throw await dataPlaneFailure(res, `HEAD ${what}`)
  const size = Number(res.headers.get('content-length'))
  const lm = res.headers.get('last-modified')
  const out: BlobProps = { size: Number.isSafeInteger(size) ? size : -1 }
  if (lm !== null && !Number.isNaN(Date.parse(lm))) out.lastModified = new Date(lm)
  return out
}

/** GET of a download URL as a stream; NotFoundError on 404, `'denied'` on 401/403 (URL expired). */
export async function getSigned(dp: DataPlane, url: string, what: string, o: ApiCallOpts): Promise<{ stream: Readable; size: number } | 'denied'> {
  const res = await callWithRetry(dp.deps, {
    method: 'GET',
    url,
    what: `download of ${what}`,
    deadline: dp.deps.now() + dp.timeoutMs,
    streaming: true,
    ...(o.signal ? { signal: o.signal } : {}),
  })
  if (res.status === 401 || res.status === 403) {
    await res.body?.cancel().catch(() => {})
    return 'denied'
  }
  if (res.status === 404) {
    await res.body?.cancel().catch(() => {})
    throw new NotFoundError(`${what} not found in the GitHub Actions cache storage (evicted)`, { hint: 'the entry was evicted; the build will recompute it' })
  }
  if (!res.ok || res.body === null) throw await dataPlaneFailure(res, `download of ${what}`)
  const size = Number(res.headers.get('content-length'))
  return { stream: Readable.fromWeb(res.body as import('node:stream/web').ReadableStream<Uint8Array>), size: Number.isSafeInteger(size) ? size : -1 }
}

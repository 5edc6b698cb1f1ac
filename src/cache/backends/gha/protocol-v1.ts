import { CairnError } from '../../../core/errors.ts'
import type { ApiCallOpts, ApiContext, CacheApi, FoundEntry, Reservation } from './api.ts'
import { isQuotaRefusal, quotaError, serviceFailure } from './errors.ts'
import { callWithRetry, readServiceError } from './http.ts'
import { GHA_CACHE_VERSION } from './keys.ts'

/**
 * Cache service v1 (buildkit-cache-format.md §3.4 "Protocol v1"): the `_apis/artifactcache` REST
 * API, still the only one on GHES. Chunks are PATCHed with `Content-Range: bytes s-e/*`.
 */
export function createV1Api(ctx: ApiContext): CacheApi {
  const base = `${ctx.baseUrl.replace(/\/+$/, '')}/_apis/artifactcache/`
  const headers = (extra: Record<string, string> = {}): Record<string, string> => ({
    authorization: `Bearer ${ctx.token}`,
    accept: 'application/json;api-version=6.0-preview.1',
    'user-agent': 'cairn',
    ...extra,
  })
  const call = (method: string, path: string, what: string, o: ApiCallOpts, body?: Uint8Array | string, extra?: Record<string, string>) =>
    callWithRetry(ctx.deps, {
      method,
      url: `${base}${path}`,
      headers: headers(extra),
      what,
      deadline: ctx.deps.now() + ctx.timeoutMs,
      ...(body !== undefined ? { body } : {}),
      ...(o.signal ? { signal: o.signal } : {}),
    })
  const json = { 'content-type': 'application/json' }

  return {
    protocol: 1,
    async lookup(key, restoreKeys, o): Promise<FoundEntry | undefined> {
      const keys = [key, ...restoreKeys.filter((k) => k !== key)].join(',')
      const res = await call('GET', `cache?keys=${encodeURIComponent(keys)}&version=${GHA_CACHE_VERSION}`, `lookup ${key}`, o)
      if (res.status === 204 || res.status === 404) {
        await res.body?.cancel().catch(() => {})
        return undefined
      }
      if (!res.ok) throw await serviceFailure(res, `lookup ${key}`, ctx.secrets)
      const text = (await res.text()).replace(/^\uFEFF/, '')
      if (text.trim() === '') return undefined
      const j = JSON.parse(text) as Record<string, unknown>
      const url = typeof j.archiveLocation === 'string' ? j.archiveLocation : ''
      if (url === '') return undefined
      return { key: typeof j.cacheKey === 'string' ? j.cacheKey : key, url }
    },
    async reserve(key, size, o): Promise<Reservation | undefined> {
      const res = await call('POST', 'caches', `reserve ${key}`, o, JSON.stringify({ key, version: GHA_CACHE_VERSION, cacheSize: size }), json)
      if (!res.ok) {
        const clone = res.clone()
        const e = await readServiceError(clone)
        if (res.status === 409 || /AlreadyExists/i.test(e.code)) return undefined
        if (res.status === 400 && isQuotaRefusal(res.status, e)) throw quotaError(`reserve ${key}`, e.message, ctx.secrets)
        throw await serviceFailure(res, `reserve ${key}`, ctx.secrets)
      }
      const j = (await res.json()) as Record<string, unknown>
      const idKey = Object.keys(j).find((k) => k.toLowerCase() === 'cacheid')
      const id = idKey === undefined ? undefined : j[idKey]
      if (typeof id !== 'number' && typeof id !== 'string') {
        throw new CairnError('ERR_GHA_PROTOCOL', `GitHub Actions cache: reserve ${key} answered without a cacheId`)
      }
      return {
        async putChunk(_index, offset, bytes, co) {
          const range = `bytes ${offset}-${offset + bytes.byteLength - 1}/*`
          const r = await call('PATCH', `caches/${id}`, `upload of ${key} (${range})`, co, bytes, {
            'content-type': 'application/octet-stream',
            'content-range': range,
          })
          if (!r.ok) throw await serviceFailure(r, `upload of ${key}`, ctx.secrets)
          await r.body?.cancel().catch(() => {})
        },
        async commit(_chunks, total, co) {
          const r = await call('POST', `caches/${id}`, `commit ${key}`, co, JSON.stringify({ size: total }), json)
          if (!r.ok) throw await serviceFailure(r, `commit ${key}`, ctx.secrets)
          await r.body?.cancel().catch(() => {})
        },
      }
    },
  }
}

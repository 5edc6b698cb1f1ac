import { CairnError } from '../../../core/errors.ts'
import type { ApiCallOpts, ApiContext, CacheApi, FoundEntry, Reservation } from './api.ts'
import { putBlock, putBlockList } from './azure-blob.ts'
import { isQuotaRefusal, quotaError, serviceFailure } from './errors.ts'
import { callWithRetry } from './http.ts'
import { GHA_CACHE_VERSION } from './keys.ts'

/**
 * Cache service v2 (buildkit-cache-format.md §3.4 "Protocol v2"): Twirp JSON with proto field
 * names, `Authorization: Bearer <token>`; data goes to signed Azure Blob URLs.
 */
const SERVICE = 'twirp/github.actions.results.api.v1.CacheService/'

class AlreadyExists {}

export function createV2Api(ctx: ApiContext): CacheApi {
  const dp = { deps: ctx.deps, timeoutMs: ctx.timeoutMs }

  async function twirp(method: string, body: Record<string, unknown>, what: string, o: ApiCallOpts): Promise<Record<string, unknown>> {
    const res = await callWithRetry(ctx.deps, {
      method: 'POST',
      // Appended to the base string as the Go client does (the base may carry a path).
      url: `${ctx.baseUrl}${SERVICE}${method}`,
      headers: { 'content-type': 'application/json', accept: 'application/json', authorization: `Bearer ${ctx.token}` },
      body: JSON.stringify(body),
      what: `${method} ${what}`,
      deadline: ctx.deps.now() + ctx.timeoutMs,
      ...(o.signal ? { signal: o.signal } : {}),
    })
    if (res.status === 409) {
      await res.body?.cancel().catch(() => {})
      throw new AlreadyExists()
    }
    if (!res.ok) throw await serviceFailure(res, `${method} ${what}`, ctx.secrets)
    try {
      return (await res.json()) as Record<string, unknown>
    } catch (cause) {
      throw new CairnError('ERR_GHA_PROTOCOL', `GitHub Actions cache: ${method} ${what} returned a body that is not JSON`, { cause })
    }
  }

  const str = (v: unknown): string => (typeof v === 'string' ? v : '')

  return {
    protocol: 2,
    async lookup(key, restoreKeys, o): Promise<FoundEntry | undefined> {
      const r = await twirp('GetCacheEntryDownloadURL', { key, restore_keys: [...restoreKeys], version: GHA_CACHE_VERSION }, key, o)
      const url = str(r.signed_download_url)
      if (r.ok !== true || url === '') return undefined
      return { key: str(r.matched_key) || key, url }
    },
    async reserve(key, _size, o): Promise<Reservation | undefined> {
      let r: Record<string, unknown>
      try {
        r = await twirp('CreateCacheEntry', { key, version: GHA_CACHE_VERSION }, key, o)
      } catch (err) {
        if (err instanceof AlreadyExists) return undefined
        throw err
      }
      const uploadUrl = str(r.signed_upload_url)
      if (r.ok !== true || uploadUrl === '') {
        const message = str(r.message)
        if (/already exists/i.test(message)) return undefined
        if (isQuotaRefusal(200, { message, code: '' })) throw quotaError(`CreateCacheEntry ${key}`, message, ctx.secrets)
        throw new CairnError('ERR_GHA_RESERVE', `GitHub Actions cache refused to create entry ${key}${message ? `: ${message}` : ''}`, {
          hint: 'another job may be writing the same entry; if this persists, set ignore-error=true on the cache export',
        })
      }
      return {
        putChunk: (index, _offset, bytes, co) => putBlock(dp, uploadUrl, index, bytes, key, co),
        async commit(chunks, size, co) {
          await putBlockList(dp, uploadUrl, chunks, key, co)
          let f: Record<string, unknown>
          try {
            // size_bytes is an int64: proto3 JSON form is a string (the TS toolkit sends strings).
            f = await twirp('FinalizeCacheEntryUpload', { key, size_bytes: String(size), version: GHA_CACHE_VERSION }, key, co)
          } catch (err) {
            if (err instanceof AlreadyExists) return
            throw err
          }
          if (f.ok !== true) {
            const message = str(f.message)
            if (isQuotaRefusal(200, { message, code: '' })) throw quotaError(`FinalizeCacheEntryUpload ${key}`, message, ctx.secrets)
            throw new CairnError('ERR_GHA_FINALIZE', `GitHub Actions cache refused to finalize entry ${key}${message ? `: ${message}` : ''}`, {
              hint: 'if this persists, set ignore-error=true on the cache export',
            })
          }
        },
      }
    },
  }
}

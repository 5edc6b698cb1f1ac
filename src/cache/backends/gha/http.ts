import { setTimeout as delay } from 'node:timers/promises'
import { CairnError, throwIfAborted, UnavailableError } from '../../../core/errors.ts'

/** Side effects of the gha transport, injected (conventions: never read globals). */
export interface GhaHttpDeps {
  fetch: typeof fetch
  /** Milliseconds since the epoch. */
  now: () => number
  sleep: (ms: number, signal?: AbortSignal) => Promise<void>
}

export const defaultSleep = (ms: number, signal?: AbortSignal): Promise<void> => delay(ms, undefined, signal === undefined ? undefined : { signal })

export interface HttpCall {
  method: string
  url: string
  headers?: Record<string, string>
  /** Re-sendable body (retries send it again). */
  body?: Uint8Array | string
  /** What is being done, for messages: `CreateCacheEntry buildkit-blob-1-sha256:…`. Never a URL. */
  what: string
  signal?: AbortSignal
  /** Absolute deadline (ms since epoch) for all attempts. */
  deadline: number
  /** The per-attempt timeout also covers reading the body (off for streamed downloads). */
  streaming?: boolean
}

const RETRY_STATUS = new Set([429, 500, 502, 503, 504])
const MAX_ATTEMPTS = 8
const BASE_DELAY_MS = 1000
const MAX_DELAY_MS = 30_000

export const THROTTLE_HINT =
  'GitHub rate-limits cache API calls per repository: narrow each cache with its own scope= (one per image or matrix job), export with mode=min instead of mode=max, or export less often (e.g. only from the default branch)'

const QUOTA_RE = /quota|storage (?:limit|full)|cache size|over the .*limit|too large|exceeds? (?:the )?(?:maximum|size|limit)/i

/** True when a refusal says the cache is full or the entry is too big (not a rate limit). */
export function isQuotaRefusal(status: number, e: ServiceError): boolean {
  if (/rate.limit|throttl|too many requests/i.test(e.message)) return false
  return status === 413 || QUOTA_RE.test(e.message)
}

const STREAM_BODY_MIN = 64 * 1024

/**
 * fetch copies a Uint8Array body; a large chunk is sent as a one-shot stream over the same bytes
 * instead (with an explicit Content-Length, which Azure's Put Block requires), so an upload holds
 * each chunk once. A fresh stream per attempt keeps the body re-sendable.
 */
function streamBody(init: RequestInit, bytes: Uint8Array): void {
  init.body = new ReadableStream<Uint8Array>({
    start(ctl) {
      ctl.enqueue(bytes)
      ctl.close()
    },
  })
  init.headers = { ...(init.headers as Record<string, string>), 'content-length': String(bytes.byteLength) }
  ;(init as RequestInit & { duplex: 'half' }).duplex = 'half'
}

/** Seconds or an HTTP date → milliseconds, or undefined. */
export function retryAfterMs(h: string | null, now: number): number | undefined {
  if (h === null || h.trim() === '') return undefined
  const secs = Number(h)
  if (Number.isFinite(secs) && secs >= 0) return secs * 1000
  const at = Date.parse(h)
  return Number.isNaN(at) ? undefined : Math.max(0, at - now)
}

/**
 * One HTTP exchange with capped exponential backoff: network errors, 429 (honouring Retry-After)
 * and 500/502/503/504 are retried until MAX_ATTEMPTS or the deadline; then a clear error is
 * thrown. Any other status is returned for the caller to interpret.
 */
export async function callWithRetry(deps: GhaHttpDeps, c: HttpCall): Promise<Response> {
  let lastStatus = 0
  let lastErr: unknown
  for (let attempt = 1; ; attempt++) {
    throwIfAborted(c.signal)
    const remaining = c.deadline - deps.now()
    const attemptSignal =
      c.streaming || remaining <= 0 ? c.signal : AbortSignal.any(c.signal ? [c.signal, AbortSignal.timeout(remaining)] : [AbortSignal.timeout(remaining)])
    let waitMs: number | undefined
    try {
      const init: RequestInit = { method: c.method, headers: c.headers ?? {} }
      if (typeof c.body === 'string' || (c.body !== undefined && c.body.byteLength < STREAM_BODY_MIN)) init.body = c.body
      else if (c.body !== undefined) streamBody(init, c.body)
      if (attemptSignal !== undefined) init.signal = attemptSignal
      const res = await deps.fetch(c.url, init)
      if (!RETRY_STATUS.has(res.status)) return res
      if (res.status === 429) {
        // A 429 that refuses for quota is final (retrying cannot free space); hand it back.
        const text = await res.text().catch(() => '')
        if (isQuotaRefusal(429, { message: text, code: '' })) return new Response(text, { status: 429, headers: res.headers })
      } else {
        await res.body?.cancel().catch(() => {})
      }
      lastStatus = res.status
      waitMs = retryAfterMs(res.headers.get('retry-after'), deps.now())
    } catch (err) {
      throwIfAborted(c.signal)
      if (err instanceof CairnError) throw err
      lastErr = err
      lastStatus = 0
    }
    const backoff = Math.min(MAX_DELAY_MS, BASE_DELAY_MS * 2 ** (attempt - 1))
    const wait = waitMs ?? backoff
    if (attempt >= MAX_ATTEMPTS || deps.now() + wait > c.deadline) break
    await deps.sleep(wait, c.signal)
  }
  const attempts = `after retrying until the limit (${MAX_ATTEMPTS} attempts or the timeout)`
  if (lastStatus === 429) {
    throw new UnavailableError(`GitHub Actions cache is throttling requests (429) to ${c.what}, ${attempts}`, {
      code: 'ERR_GHA_THROTTLED',
      hint: THROTTLE_HINT,
    })
  }
  if (lastStatus !== 0) {
    throw new UnavailableError(`GitHub Actions cache service failed: ${c.what} returned HTTP ${lastStatus} ${attempts}`, {
      code: 'ERR_GHA_UNAVAILABLE',
      hint: 'the service is having trouble; retry the build later, or set ignore-error=true on the cache export',
    })
  }
  throw new UnavailableError(`GitHub Actions cache service unreachable: ${c.what} failed ${attempts}: ${redact(errText(lastErr), [])}`, {
    code: 'ERR_GHA_UNAVAILABLE',
    hint: 'check the network path to the cache service, or raise timeout=',
    cause: lastErr,
  })
}

function errText(err: unknown): string {
  if (err instanceof Error) {
    const cause = (err as { cause?: { code?: string; message?: string } }).cause
    return cause?.code ?? cause?.message ?? err.message
  }
  return String(err)
}

/** The fields the Go and TS clients read from error bodies (v1 REST and v2 Twirp). */
export interface ServiceError {
  message: string
  /** Twirp `code` or v1 `typeKey`. */
  code: string
}

export async function readServiceError(res: Response): Promise<ServiceError> {
  let text = ''
  try {
    text = (await res.text()).slice(0, 64 * 1024).replace(/^\uFEFF/, '')
  } catch {
    /* the status alone has to do */
  }
  try {
    const j = JSON.parse(text) as Record<string, unknown>
    const str = (v: unknown): string => (typeof v === 'string' ? v : '')
    return { message: str(j.msg) || str(j.message), code: str(j.code) || str(j.typeKey) || str(j.typeName) }
  } catch {
    return { message: text.trim().slice(0, 300), code: '' }
  }
}

/** Removes secrets (the token, SAS signatures) from text that is about to go into a message. */
export function redact(text: string, secrets: readonly string[]): string {
  let out = text.replace(/([?&](?:sig|se|st|sv|sp|skoid|sktid|skt|ske|sks|skv)=)[^&\s"']*/gi, '$1***')
  for (const s of secrets) if (s.length >= 4) out = out.split(s).join('***')
  return out
}

import { CairnError } from '../core/errors.ts'
import { errorCodes } from './errors.ts'

/** How often and how long to retry transient failures (429, 5xx, connection resets). */
export interface RetryPolicy {
  /** Total tries including the first (1 = no retry). */
  attempts: number
  /** Delay before the first retry; doubles each time. */
  baseMs: number
  /** Ceiling for the exponential delay (Retry-After may ask for more, up to `retryAfterMaxMs`). */
  maxMs: number
}

export const DEFAULT_RETRY: RetryPolicy = { attempts: 5, baseMs: 250, maxMs: 8_000 }

/** The longest Retry-After the client honours; longer answers are clamped to this. */
export const RETRY_AFTER_MAX_MS = 60_000

/**
 * Delay before retry number `retry` (1 = first retry): min(maxMs, baseMs·2^(retry-1)) scaled by a
 * jitter factor in [0.5, 1), so concurrent clients spread out.
 */
export function backoffMs(retry: number, policy: RetryPolicy, random: () => number = Math.random): number {
  const exp = Math.min(policy.maxMs, policy.baseMs * 2 ** Math.max(0, retry - 1))
  return Math.round(exp * (0.5 + random() * 0.5))
}

/** Parses Retry-After (delta seconds or an HTTP date) into milliseconds from `nowMs`; undefined if absent or invalid. */
export function retryAfterMs(header: string | null | undefined, nowMs: number): number | undefined {
  if (header === null || header === undefined || header.trim() === '') return undefined
  const v = header.trim()
  if (/^\d+$/.test(v)) return Math.min(RETRY_AFTER_MAX_MS, Number(v) * 1000)
  const at = Date.parse(v)
  if (Number.isNaN(at)) return undefined
  return Math.min(RETRY_AFTER_MAX_MS, Math.max(0, at - nowMs))
}

/** 429 and 5xx except 501/505 (which will not change on retry). */
export const isRetryableStatus = (status: number): boolean => status === 429 || (status >= 500 && status !== 501 && status !== 505)

const RESET_CODES = new Set(['ECONNRESET', 'UND_ERR_SOCKET', 'EPIPE', 'ETIMEDOUT', 'UND_ERR_CLOSED', 'ECONNABORTED', 'UND_ERR_CONNECT_TIMEOUT', 'EAI_AGAIN'])

/** A dropped or reset connection (worth retrying), found anywhere in the cause chain. */
export function isConnectionReset(err: unknown): boolean {
  if (err instanceof CairnError) return false
  if ((err as Error)?.name === 'AbortError') return false
  if (errorCodes(err).some((c) => RESET_CODES.has(c))) return true
  let cur: unknown = err
  for (let i = 0; cur instanceof Error && i < 16; i++) {
    if (/other side closed|socket hang up|terminated/i.test(cur.message)) return true
    cur = cur.cause
  }
  return false
}

/** Resolves after `ms`, or rejects with the signal's reason as soon as it aborts. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason)
    const onAbort = () => {
      clearTimeout(timer)
      reject(signal?.reason)
    }
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort)
      resolve()
    }, ms)
    signal?.addEventListener('abort', onAbort, { once: true })
  })
}

export type SleepFn = (ms: number, signal?: AbortSignal) => Promise<void>

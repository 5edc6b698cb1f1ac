import { CairnError, findCause } from '../core/errors.ts'
import type { Authenticator } from './auth.ts'
import { errorFromNetwork, errorFromStatus, parseErrorBody, RegistryAuthError, type RegistryOpContext, where } from './errors.ts'
import { backoffMs, isConnectionReset, isRetryableStatus, type RetryPolicy, retryAfterMs, type SleepFn } from './retry.ts'

/** A registry as the client talks to it. `registry` is the name users see (docker.io), `host` the one dialled. */
export interface Endpoint {
  registry: string
  host: string
  /** `http://host` or `https://host`. */
  base: string
}

/** Everything a request needs. `body` is a factory so every attempt sends a fresh body. */
export interface RequestSpec {
  method: 'GET' | 'HEAD' | 'POST' | 'PUT' | 'PATCH' | 'DELETE'
  /** Absolute URL (an upload Location) or a path below the endpoint (`/v2/...`). */
  url: string | URL
  headers?: Record<string, string>
  body?: () => FetchBody | Promise<FetchBody>
  /** Token scopes (`repository:team/app:pull`). */
  scopes: readonly string[]
  ctx: RegistryOpContext
  /** Statuses returned to the caller; anything else becomes an error (after retries where sensible). */
  ok: readonly number[]
  /** Names the thing for a 404 message (`manifest latest`). */
  what?: string
  signal?: AbortSignal | undefined
  /** false: one attempt only (the caller restarts a larger sequence itself). Auth retries still happen. */
  retry?: boolean
}

export interface TransportOptions {
  fetch: typeof fetch
  auth: Authenticator
  retry: RetryPolicy
  sleep: SleepFn
  now: () => number
  random: () => number
  userAgent: string
}

/** What fetch accepts as a request body (BodyInit is not a global in @types/node 20). */
export type FetchBody = NonNullable<RequestInit['body']>

const ERROR_BODY_LIMIT = 64 * 1024

/** Reads at most `limit` bytes of a response as text (error bodies), then drops the rest. */
export async function readTextLimited(res: Response, limit = ERROR_BODY_LIMIT): Promise<string> {
  if (!res.body) return ''
  const parts: Buffer[] = []
  let n = 0
  try {
    for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
      parts.push(Buffer.from(chunk))
      n += chunk.length
      if (n >= limit) break
    }
  } catch {
    // A broken error body still leaves the status to report.
  }
  return Buffer.concat(parts).toString('utf8').slice(0, limit)
}

/** Releases a response whose body is not needed, so its connection can be reused or closed. */
export async function discard(res: Response): Promise<void> {
  await res.body?.cancel().catch(() => undefined)
}

/**
 * Sends one logical request: adds the User-Agent and authorisation (answering 401 challenges once),
 * retries 429 (honouring Retry-After), 5xx and connection resets with capped, jittered exponential
 * backoff, and turns final failures into CairnErrors that name registry, repository and operation.
 * Resolves only with a status listed in `spec.ok`; the caller owns (and must consume or discard) its body.
 */
export class Transport {
  readonly #o: TransportOptions
  constructor(o: TransportOptions) {
    this.#o = o
  }

  get options(): Readonly<TransportOptions> {
    return this.#o
  }

  async send(ep: Endpoint, spec: RequestSpec): Promise<Response> {
    const { signal, ctx } = spec
    const url = typeof spec.url === 'string' && spec.url.startsWith('/') ? new URL(spec.url, ep.base) : new URL(spec.url)
    const sameHost = url.origin === new URL(ep.base).origin
    const attempts = spec.retry === false ? 1 : Math.max(1, this.#o.retry.attempts)
    let scopes = [...spec.scopes]
    let authRetries = 0
    for (let attempt = 1; ; attempt++) {
      if (signal?.aborted) throw signal.reason
      const auth = sameHost ? await this.#authHeader(ep, scopes, spec) : { sentCredentials: false }
      const headers: Record<string, string> = { 'user-agent': this.#o.userAgent, ...spec.headers }
      if (auth.authorization) headers.authorization = auth.authorization
      const body = spec.body ? await spec.body() : undefined
      let res: Response
      try {
        res = await this.#o.fetch(url, {
          method: spec.method,
          headers,
          ...(body !== undefined ? { body, duplex: 'half' } : {}),
          ...(signal ? { signal } : {}),
        } as RequestInit)
      } catch (err) {
        destroyBody(body)
        if (signal?.aborted) throw signal.reason
        const own = findCause(err, CairnError)
        if (own) throw own
        if (isConnectionReset(err) && attempt < attempts) {
          await this.#o.sleep(backoffMs(attempt, this.#o.retry, this.#o.random), signal)
          continue
        }
        throw errorFromNetwork(ctx, url.href, err)
      }
      if (res.status === 401 && sameHost && authRetries < 1) {
        await discard(res)
        const sentBasic = auth.authorization?.startsWith('Basic ') === true
        const r = await this.#o.auth.onUnauthorized(ep.host, ep.registry, res.headers.get('www-authenticate'), scopes, signal, sentBasic)
        if (r.retry) {
          authRetries++
          scopes = r.scopes
          attempt--
          continue
        }
        throw errorFromStatus(ctx, 401, [], { sentCredentials: auth.sentCredentials })
      }
      if (spec.ok.includes(res.status)) return res
      const retryAfter = retryAfterMs(res.headers.get('retry-after'), this.#o.now())
      if (isRetryableStatus(res.status) && attempt < attempts) {
        await discard(res)
        await this.#o.sleep(retryAfter ?? backoffMs(attempt, this.#o.retry, this.#o.random), signal)
        continue
      }
      const errors = spec.method === 'HEAD' ? [] : parseErrorBody(await readTextLimited(res))
      if (spec.method === 'HEAD') await discard(res)
      const err = errorFromStatus(ctx, res.status, errors, {
        ...(spec.what !== undefined ? { what: spec.what } : {}),
        sentCredentials: auth.sentCredentials,
      })
      if (retryAfter !== undefined && err.details) err.details.retryAfterMs = retryAfter
      throw err
    }
  }

  async #authHeader(ep: Endpoint, scopes: readonly string[], spec: RequestSpec) {
    try {
      return await this.#o.auth.header(ep.host, ep.registry, scopes, spec.signal, where(spec.ctx))
    } catch (err) {
      if (spec.signal?.aborted) throw spec.signal.reason
      if (err instanceof RegistryAuthError || err instanceof CairnError) throw err
      throw errorFromNetwork(spec.ctx, ep.base, err)
    }
  }
}

function destroyBody(body: unknown): void {
  const d = (body as { destroy?: () => void } | undefined)?.destroy
  if (typeof d === 'function') d.call(body)
}

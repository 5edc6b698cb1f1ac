import { CairnError } from '../core/errors.ts'
import { readAllLimited } from '../core/streams.ts'
import type { CredentialStore, RegistryCredential } from './credentials.ts'
import { displayUrl, loginHint, RegistryAuthError, redact } from './errors.ts'

/** One parsed `WWW-Authenticate` challenge: scheme (lower-case) and its parameters (keys lower-case). */
export interface AuthChallenge {
  scheme: string
  params: Record<string, string>
}

/**
 * Parses a `WWW-Authenticate` header, which may hold several challenges
 * (`Bearer realm="https://a/token",service="reg",scope="repository:x:pull", Basic realm="r"`).
 */
export function parseChallenges(header: string): AuthChallenge[] {
  const out: AuthChallenge[] = []
  let cur: AuthChallenge | undefined
  let pos = 0
  while (pos < header.length) {
    // A parameter is tried first so `realm=` is not mistaken for a scheme.
    const param = /\s*([\w!#$%&'*+.^`|~-]+)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^\s,]*))\s*,?/y
    param.lastIndex = pos
    const p = param.exec(header)
    if (p && cur) {
      cur.params[(p[1] as string).toLowerCase()] = p[2] !== undefined ? p[2].replace(/\\(.)/g, '$1') : (p[3] ?? '')
      pos = param.lastIndex
      continue
    }
    const scheme = /\s*,?\s*([A-Za-z][\w-]*)(?=\s|,|$)\s*,?/y
    scheme.lastIndex = pos
    const s = scheme.exec(header)
    if (!s) break
    cur = { scheme: (s[1] as string).toLowerCase(), params: {} }
    out.push(cur)
    pos = scheme.lastIndex
  }
  return out
}

export interface AuthenticatorOptions {
  fetch: typeof fetch
  credentials: CredentialStore | undefined
  now: () => number
  userAgent: string
  /** OAuth2 client id sent with refresh-token grants. */
  clientId?: string
}

interface CachedToken {
  token: string
  expiresAt: number
}

/** What a request should carry, and whether credentials (not just an anonymous token) were used. */
export interface AuthHeader {
  authorization?: string
  sentCredentials: boolean
}

const DEFAULT_TOKEN_TTL_S = 60
/** Tokens are renewed this long before they expire. */
const EXPIRY_MARGIN_MS = 5_000

/**
 * Per-client registry authentication. Learns each host's scheme from its first 401 challenge and
 * then authorises later requests up front. Bearer tokens are cached per (host, scope set) until
 * shortly before they expire; `onUnauthorized` drops the cached token and fetches a fresh one.
 * Concurrent requests for the same (host, scope) share one token request.
 */
export class Authenticator {
  readonly #o: AuthenticatorOptions
  readonly #challenges = new Map<string, AuthChallenge>()
  readonly #tokens = new Map<string, Promise<CachedToken>>()

  constructor(o: AuthenticatorOptions) {
    this.#o = o
  }

  #key(host: string, scopes: readonly string[]): string {
    return `${host} ${[...scopes].sort().join(' ')}`
  }

  async #cred(registry: string, signal?: AbortSignal): Promise<RegistryCredential | undefined> {
    return this.#o.credentials?.get(registry, signal)
  }

  /** The Authorization value for a request to `host` (undefined = send none). `registry` is the user-facing name used for credential lookup. */
  async header(host: string, registry: string, scopes: readonly string[], signal?: AbortSignal, where?: string): Promise<AuthHeader> {
    const ch = this.#challenges.get(host)
    if (!ch) return { sentCredentials: false }
    if (ch.scheme === 'basic') {
      const cred = await this.#cred(registry, signal)
      if (cred?.kind !== 'basic') return { sentCredentials: false }
      return { authorization: `Basic ${Buffer.from(`${cred.username}:${cred.password}`).toString('base64')}`, sentCredentials: true }
    }
    const allScopes = normalizeScopes(scopes)
    const key = this.#key(host, allScopes)
    let pending = this.#tokens.get(key)
    if (pending) {
      const t = await pending.catch(() => undefined)
      if (!t || t.expiresAt - EXPIRY_MARGIN_MS <= this.#o.now()) pending = undefined
    }
    if (!pending) {
      pending = this.#fetchToken(ch, registry, allScopes, signal, where ?? registry)
      this.#tokens.set(key, pending)
      pending.catch(() => this.#tokens.get(key) === pending && this.#tokens.delete(key))
    }
    const t = await pending
    const cred = await this.#cred(registry, signal)
    return { authorization: `Bearer ${t.token}`, sentCredentials: cred !== undefined }
  }

  /**
   * Handles a 401: records the challenge and drops any cached token for these scopes. Resolves
   * `retry: true` when a retry with new authorisation can help (a Bearer challenge, or Basic when the
   * refused request carried no credentials and there are some), with the scopes to retry with
   * (ours plus the challenge's). `sentBasic` is whether the refused request carried Basic
   * credentials: several requests sent at once before the first challenge are each refused, and
   * each of them is retried.
   */
  async onUnauthorized(
    host: string,
    registry: string,
    wwwAuthenticate: string | null,
    scopes: readonly string[],
    signal?: AbortSignal,
    sentBasic = false,
  ): Promise<{ retry: boolean; scopes: string[] }> {
    const challenges = parseChallenges(wwwAuthenticate ?? '')
    const ch = challenges.find((c) => c.scheme === 'bearer' && c.params.realm) ?? challenges.find((c) => c.scheme === 'basic')
    if (!ch) return { retry: false, scopes: [...scopes] }
    this.#challenges.set(host, { scheme: ch.scheme, params: { ...ch.params } })
    if (ch.scheme === 'basic') {
      const cred = await this.#cred(registry, signal)
      return { retry: cred?.kind === 'basic' && !sentBasic, scopes: [...scopes] }
    }
    const merged = normalizeScopes([...scopes, ...(ch.params.scope ?? '').split(' ').filter((s) => s !== '')])
    this.#tokens.delete(this.#key(host, merged))
    return { retry: true, scopes: merged }
  }

  async #fetchToken(ch: AuthChallenge, registry: string, scopes: readonly string[], signal: AbortSignal | undefined, where: string): Promise<CachedToken> {
    const realm = ch.params.realm as string
    const cred = await this.#cred(registry, signal)
    const url = new URL(realm)
    const headers: Record<string, string> = { 'user-agent': this.#o.userAgent, accept: 'application/json' }
    let init: RequestInit
    if (cred?.kind === 'identityToken') {
      const form = new URLSearchParams({ grant_type: 'refresh_token', refresh_token: cred.token, client_id: this.#o.clientId ?? 'cairn' })
      if (ch.params.service) form.set('service', ch.params.service)
      if (scopes.length > 0) form.set('scope', scopes.join(' '))
      init = { method: 'POST', headers: { ...headers, 'content-type': 'application/x-www-form-urlencoded' }, body: form.toString() }
    } else {
      if (ch.params.service) url.searchParams.set('service', ch.params.service)
      for (const s of scopes) url.searchParams.append('scope', s)
      if (cred?.kind === 'basic') {
        url.searchParams.set('account', cred.username)
        headers.authorization = `Basic ${Buffer.from(`${cred.username}:${cred.password}`).toString('base64')}`
      }
      init = { method: 'GET', headers }
    }
    const started = this.#o.now()
    let res: Response
    try {
      res = await this.#o.fetch(url, { ...init, ...(signal ? { signal } : {}) })
    } catch (err) {
      if (signal?.aborted) throw signal.reason
      throw new CairnError('ERR_REGISTRY_TOKEN', `${where}: cannot reach token server ${displayUrl(url)}: ${redact(String((err as Error).message))}`, {
        cause: err,
      })
    }
    const body = res.body ? await readAllLimited(res.body as AsyncIterable<Buffer>, 1 << 20, 'token response') : Buffer.alloc(0)
    if (res.status === 401 || res.status === 403) {
      const what = cred ? 'authentication denied' : 'authentication required'
      throw new RegistryAuthError(
        res.status === 401 ? 'ERR_REGISTRY_UNAUTHORIZED' : 'ERR_REGISTRY_DENIED',
        `${where}: ${what} for ${registry} (token server ${displayUrl(url)} answered HTTP ${res.status} for ${scopes.join(' ') || 'no scope'})`,
        {
          hint: cred ? `check the credentials for ${registry}: ${loginHint(registry)}` : loginHint(registry),
          details: { registry, realm: displayUrl(url), status: res.status, scopes },
        },
      )
    }
    if (!res.ok) {
      throw new CairnError('ERR_REGISTRY_TOKEN', `${where}: token server ${displayUrl(url)} answered HTTP ${res.status}`, {
        details: { registry, status: res.status },
      })
    }
    let doc: { token?: string; access_token?: string; expires_in?: number; issued_at?: string }
    try {
      doc = JSON.parse(body.toString('utf8')) as typeof doc
    } catch {
      throw new CairnError('ERR_REGISTRY_TOKEN', `${where}: token server ${displayUrl(url)} sent a response that is not JSON`)
    }
    const token = doc.access_token || doc.token
    if (!token) throw new CairnError('ERR_REGISTRY_TOKEN', `${where}: token server ${displayUrl(url)} sent no token or access_token`)
    const ttlS = typeof doc.expires_in === 'number' && doc.expires_in > 0 ? doc.expires_in : DEFAULT_TOKEN_TTL_S
    const issued = doc.issued_at ? Date.parse(doc.issued_at) : Number.NaN
    const base = Number.isNaN(issued) ? started : Math.min(issued, started)
    return { token, expiresAt: base + ttlS * 1000 }
  }
}

/**
 * Canonical scope list: one entry per `type:name` with its actions merged and sorted
 * (`repository:a:push` + `repository:a:pull` → `repository:a:pull,push`), entries sorted.
 */
export function normalizeScopes(scopes: readonly string[]): string[] {
  const byResource = new Map<string, Set<string>>()
  for (const s of scopes) {
    const i = s.lastIndexOf(':')
    if (i <= 0) {
      byResource.set(s, byResource.get(s) ?? new Set())
      continue
    }
    const res = s.slice(0, i)
    const actions = byResource.get(res) ?? new Set<string>()
    for (const a of s.slice(i + 1).split(',')) if (a) actions.add(a)
    byResource.set(res, actions)
  }
  return [...byResource.entries()].map(([res, acts]) => (acts.size > 0 ? `${res}:${[...acts].sort().join(',')}` : res)).sort()
}

export const repoScope = (repository: string, actions: 'pull' | 'pull,push'): string => `repository:${repository}:${actions}`

import { InvalidArgumentError } from '../../../core/errors.ts'

/** One entry of the runtime token's `ac` claim. Permission is a bitmask: 1 = read, 2 = write. */
export interface GithubScope {
  scope: string
  permission: number
}

export interface RuntimeTokenClaims {
  scopes: GithubScope[]
  /** Seconds since the epoch, when present. */
  exp?: number
  nbf?: number
}

const badToken = (why: string): InvalidArgumentError =>
  new InvalidArgumentError(`invalid GitHub Actions runtime token: ${why}`, {
    code: 'ERR_GHA_TOKEN',
    hint: "pass the job's ACTIONS_RUNTIME_TOKEN (docker/build-push-action does; in `run:` steps use crazy-max/ghaction-github-runtime)",
  })

/**
 * Reads the claims of the runtime token (a JWT) without verifying its signature, as
 * go-actions-cache does (buildkit-cache-format.md §3.4 "The token and scopes"). The token itself
 * never appears in an error.
 */
export function parseRuntimeToken(token: string): RuntimeTokenClaims {
  const parts = token.split('.')
  if (parts.length !== 3) throw badToken('not a JWT (expected three dot-separated parts)')
  let claims: Record<string, unknown>
  try {
    claims = JSON.parse(Buffer.from(parts[1] ?? '', 'base64url').toString('utf8')) as Record<string, unknown>
  } catch {
    throw badToken('its claims are not JSON')
  }
  if (claims === null || typeof claims !== 'object') throw badToken('its claims are not a JSON object')
  const scopes: GithubScope[] = []
  if (typeof claims.ac === 'string' && claims.ac !== '') {
    let ac: unknown
    try {
      ac = JSON.parse(claims.ac)
    } catch {
      throw badToken('the "ac" claim is not JSON')
    }
    if (!Array.isArray(ac)) throw badToken('the "ac" claim is not an array')
    for (const s of ac as Array<Record<string, unknown>>) {
      if (s && typeof s.Scope === 'string' && typeof s.Permission === 'number') scopes.push({ scope: s.Scope, permission: s.Permission })
    }
  }
  const out: RuntimeTokenClaims = { scopes }
  if (typeof claims.exp === 'number') out.exp = claims.exp
  if (typeof claims.nbf === 'number') out.nbf = claims.nbf
  return out
}

/** Refuses an expired or not-yet-valid token, as the Go client does. */
export function checkTokenTime(c: RuntimeTokenClaims, nowMs: number): void {
  const now = nowMs / 1000
  if (c.exp !== undefined && now > c.exp) throw badToken(`it expired at ${new Date(c.exp * 1000).toISOString()}`)
  if (c.nbf !== undefined && now < c.nbf) throw badToken(`it is not valid before ${new Date(c.nbf * 1000).toISOString()}`)
}

/** Exports go to the *last* scope with write permission. */
export function writeScope(c: RuntimeTokenClaims): string | undefined {
  for (let i = c.scopes.length - 1; i >= 0; i--) {
    const s = c.scopes[i]
    if (s && (s.permission & 2) !== 0) return s.scope
  }
  return undefined
}

/**
 * Imports read every scope in the token. Order of preference for a single answer: the write
 * scope first, then the others from last to first (own branch, then base, then default).
 */
export function readScopes(c: RuntimeTokenClaims): string[] {
  const out: string[] = []
  const w = writeScope(c)
  if (w !== undefined) out.push(w)
  for (let i = c.scopes.length - 1; i >= 0; i--) {
    const s = c.scopes[i]
    if (s && !out.includes(s.scope)) out.push(s.scope)
  }
  return out
}

import { CairnError, type ErrorOptions, FailedPreconditionError, InvalidArgumentError, NotFoundError, UnavailableError } from '../core/errors.ts'

/**
 * Where a registry operation happened, for messages: `127.0.0.1:5000/team/app: push blob sha256:ab12…`.
 * `registry` is the host the user named (docker.io, not registry-1.docker.io).
 */
export interface RegistryOpContext {
  registry: string
  repository: string
  /** What was being done, in words: `push blob sha256:…`, `get manifest latest`. */
  op: string
}

/** One entry of the distribution spec's error body `{"errors":[{code,message,detail}]}`. */
export interface RegistryErrorEntry {
  code: string
  message: string
  detail?: unknown
}

/** 401/403 from a registry or its token server. `code` is ERR_REGISTRY_UNAUTHORIZED or ERR_REGISTRY_DENIED. */
export class RegistryAuthError extends CairnError {
  constructor(code: 'ERR_REGISTRY_UNAUTHORIZED' | 'ERR_REGISTRY_DENIED', message: string, opts: ErrorOptions = {}) {
    super(code, message, opts)
    this.name = 'RegistryAuthError'
  }
}

const SECRET_PATTERNS: [RegExp, string][] = [
  [/\b(Bearer|Basic)\s+[A-Za-z0-9._~+/=-]+/gi, '$1 [redacted]'],
  [/("(?:token|access_token|refresh_token|identitytoken|password|secret|auth)"\s*:\s*")[^"]*"/gi, '$1[redacted]"'],
  [/\b((?:access_token|refresh_token|password|token)=)[^&\s]+/gi, '$1[redacted]'],
  [/(\/\/[^/@\s:]+:)[^/@\s]+@/g, '$1[redacted]@'],
]

/** Removes bearer/basic credentials, token fields and URL passwords from text meant for a message or log. */
export function redact(text: string): string {
  let out = text
  for (const [re, rep] of SECRET_PATTERNS) out = out.replace(re, rep)
  return out
}

/** A URL for messages: no query string (upload `_state`, tokens), no userinfo. */
export function displayUrl(url: string | URL): string {
  try {
    const u = new URL(url)
    return `${u.protocol}//${u.host}${u.pathname}`
  } catch {
    return '[invalid url]'
  }
}

export const where = (c: RegistryOpContext): string => `${c.registry}/${c.repository}: ${c.op}`

export const loginHint = (registry: string): string => `run \`docker login ${registry}\` or set credentials in $DOCKER_CONFIG/config.json`

/** Parses a registry error body (at most a few KiB were read); never throws. */
export function parseErrorBody(text: string): RegistryErrorEntry[] {
  try {
    const doc = JSON.parse(text) as { errors?: unknown }
    if (!Array.isArray(doc.errors)) return []
    return doc.errors
      .filter((e): e is Record<string, unknown> => typeof e === 'object' && e !== null)
      .map((e) => ({
        code: String(e.code ?? 'UNKNOWN'),
        message: redact(String(e.message ?? '')),
        ...(e.detail !== undefined ? { detail: JSON.parse(redact(JSON.stringify(e.detail))) as unknown } : {}),
      }))
  } catch {
    return []
  }
}

const describeEntries = (errors: RegistryErrorEntry[]): string =>
  errors
    .map((e) => {
      const detail = e.detail === undefined ? '' : ` (${typeof e.detail === 'string' ? e.detail : JSON.stringify(e.detail)})`
      return `${e.code}: ${e.message}${detail.length > 300 ? `${detail.slice(0, 300)}…)` : detail}`
    })
    .join('; ')

const MANIFEST_CODES = new Set(['MANIFEST_INVALID', 'MANIFEST_BLOB_UNKNOWN', 'MANIFEST_UNVERIFIED', 'SIZE_INVALID', 'TAG_INVALID', 'NAME_INVALID'])

/**
 * Turns a final (non-retried) HTTP failure into the right CairnError: auth errors name the login
 * command, 404 is NotFoundError, MANIFEST_INVALID/415 carry the registry's code and message,
 * 429/5xx are UnavailableError. `what` names the missing thing for 404 (`manifest latest`).
 */
export function errorFromStatus(
  ctx: RegistryOpContext,
  status: number,
  errors: RegistryErrorEntry[],
  o: { what?: string; sentCredentials?: boolean } = {},
): CairnError {
  const details = { registry: ctx.registry, repository: ctx.repository, op: ctx.op, status, errors }
  const said = errors.length > 0 ? `: registry said ${describeEntries(errors)}` : ''
  const base = { details }
  if (status === 401) {
    const what = o.sentCredentials ? 'authentication denied' : 'authentication required'
    return new RegistryAuthError('ERR_REGISTRY_UNAUTHORIZED', `${where(ctx)}: ${what} for ${ctx.registry} (HTTP 401)${said}`, {
      ...base,
      hint: o.sentCredentials ? `check the credentials for ${ctx.registry}: ${loginHint(ctx.registry)}` : loginHint(ctx.registry),
    })
  }
  if (status === 403) {
    return new RegistryAuthError('ERR_REGISTRY_DENIED', `${where(ctx)}: access denied by ${ctx.registry} (HTTP 403)${said}`, {
      ...base,
      hint: `make sure the account may access ${ctx.repository}: ${loginHint(ctx.registry)}`,
    })
  }
  if (status === 404 || errors.some((e) => e.code === 'MANIFEST_UNKNOWN' || e.code === 'BLOB_UNKNOWN' || e.code === 'NAME_UNKNOWN')) {
    return new NotFoundError(`${where(ctx)}: ${o.what ?? 'resource'} not found in ${ctx.registry}/${ctx.repository}${said}`, {
      ...base,
      code: 'ERR_REGISTRY_NOT_FOUND',
      hint: 'check the repository name, tag and digest',
    })
  }
  if (status === 415 || errors.some((e) => MANIFEST_CODES.has(e.code))) {
    const codes = errors.map((e) => e.code).join(', ') || `HTTP ${status}`
    return new InvalidArgumentError(`${where(ctx)}: rejected by ${ctx.registry} (${codes})${said || ` (HTTP ${status} unsupported media type)`}`, {
      ...base,
      code: 'ERR_REGISTRY_MANIFEST_INVALID',
      hint: 'the registry does not accept this manifest or media type; try OCI media types on or off',
    })
  }
  if (errors.some((e) => e.code === 'DIGEST_INVALID')) {
    return new FailedPreconditionError(`${where(ctx)}: the registry computed a different digest${said}`, {
      ...base,
      code: 'ERR_REGISTRY_DIGEST_MISMATCH',
    })
  }
  if (status === 429 || status >= 500) {
    return new UnavailableError(`${where(ctx)}: ${ctx.registry} is unavailable (HTTP ${status})${said}`, {
      ...base,
      code: 'ERR_REGISTRY_UNAVAILABLE',
      hint: 'the registry kept failing after retries; try again later',
    })
  }
  return new CairnError('ERR_REGISTRY_PROTOCOL', `${where(ctx)}: unexpected HTTP ${status} from ${ctx.registry}${said}`, base)
}

const TLS_CODES = /^(ERR_SSL_|EPROTO$|ERR_TLS_|CERT_|UNABLE_TO_|DEPTH_ZERO_SELF_SIGNED_CERT|SELF_SIGNED_CERT)/

/** Walks an error's cause chain for an errno-style code. */
export function errorCodes(err: unknown): string[] {
  const codes: string[] = []
  let cur: unknown = err
  for (let i = 0; cur !== null && typeof cur === 'object' && i < 16; i++) {
    const code = (cur as { code?: unknown }).code
    if (typeof code === 'string') codes.push(code)
    cur = (cur as { cause?: unknown }).cause
  }
  return codes
}

const causeMessages = (err: unknown): string => {
  const parts: string[] = []
  let cur: unknown = err
  for (let i = 0; cur instanceof Error && i < 16; i++) {
    parts.push(cur.message)
    cur = cur.cause
  }
  return parts.join(': ')
}

/** A network failure (after retries) as a CairnError; TLS errors get the "mark it insecure" hint. */
export function errorFromNetwork(ctx: RegistryOpContext, url: string, err: unknown): CairnError {
  const codes = errorCodes(err)
  const text = redact(causeMessages(err))
  const details = { registry: ctx.registry, repository: ctx.repository, op: ctx.op, codes }
  const isTls = codes.some((c) => TLS_CODES.test(c)) || /wrong version number|ssl|tls|certificate/i.test(text)
  if (isTls && url.startsWith('https:')) {
    return new CairnError('ERR_REGISTRY_TLS', `${where(ctx)}: TLS handshake with ${ctx.registry} failed (${displayUrl(url)}): ${text}`, {
      cause: err,
      details,
      hint: `if ${ctx.registry} serves plain HTTP, mark it as an insecure registry (plain HTTP) in cairn's registry options; otherwise check its certificate against the system CAs`,
    })
  }
  return new UnavailableError(`${where(ctx)}: cannot reach ${ctx.registry} (${displayUrl(url)}): ${text}`, {
    cause: err,
    code: 'ERR_REGISTRY_UNREACHABLE',
    details,
    hint: 'check that the registry is running and reachable',
  })
}

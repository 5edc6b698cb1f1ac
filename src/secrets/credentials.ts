/**
 * Credential values the CLI knows about (cache-backend keys and tokens, registry passwords and
 * tokens), fed to the redactor so that none of them is ever printed. Registry credentials are
 * learnt as they are used: the credential store and the HTTP client are wrapped to report every
 * password and token they hand out or send.
 */
import { SECRET_ATTRS } from '../cache/spec/attrs.ts'
import type { CacheSpec } from '../cache/spec/types.ts'
import type { CredentialStore } from '../registry/credentials.ts'

/** Environment variables that hold credentials cairn (or the SDKs it calls) may use. */
export const CREDENTIAL_ENV_VARS = [
  'ACTIONS_RUNTIME_TOKEN',
  'ACTIONS_ID_TOKEN_REQUEST_TOKEN',
  'AWS_SECRET_ACCESS_KEY',
  'AWS_SESSION_TOKEN',
  'AZURE_STORAGE_CONNECTION_STRING',
  'AZURE_STORAGE_KEY',
  'AZURE_STORAGE_SAS_TOKEN',
  'BUILDKIT_AZURE_STORAGE_SECRET_ACCESS_KEY',
  'GITHUB_TOKEN',
] as const

const SPEC_SECRET_FIELDS = ['token', 'ghToken', 'secretAccessKey'] as const

/** The credential values in `env` and in the parsed cache specs (attributes and typed fields). */
export function credentialValues(env: Readonly<Record<string, string | undefined>>, specs: readonly CacheSpec[]): string[] {
  const out: string[] = []
  for (const k of CREDENTIAL_ENV_VARS) {
    const v = env[k]
    if (!v) continue
    out.push(v)
    if (k === 'AZURE_STORAGE_CONNECTION_STRING') out.push(...connectionStringSecrets(v))
  }
  for (const spec of specs) {
    for (const [k, v] of Object.entries(spec.attrs)) if (SECRET_ATTRS.has(k) && v) out.push(v)
    const typed = spec as unknown as Record<string, unknown>
    for (const f of SPEC_SECRET_FIELDS) if (typeof typed[f] === 'string' && typed[f]) out.push(typed[f] as string)
    const creds = typed.credentials
    if (creds && typeof creds === 'object') for (const v of Object.values(creds)) if (typeof v === 'string' && v) out.push(v)
    const url = typed.accountUrl ?? spec.attrs.account_url
    if (typeof url === 'string' && url.includes('?')) out.push(url.slice(url.indexOf('?') + 1))
  }
  return out
}

/** `AccountKey=...;SharedAccessSignature=...` parts of an Azure connection string. */
function connectionStringSecrets(conn: string): string[] {
  const out: string[] = []
  for (const part of conn.split(';')) {
    const eq = part.indexOf('=')
    if (eq < 0) continue
    const k = part.slice(0, eq).trim().toLowerCase()
    if (k === 'accountkey' || k === 'sharedaccesssignature') out.push(part.slice(eq + 1))
  }
  return out
}

/** A credential store that reports every password or token it returns. */
export function reportingCredentials(store: CredentialStore, learn: (value: string) => void): CredentialStore {
  return {
    async get(registry, signal) {
      const c = await store.get(registry, signal)
      if (c?.kind === 'basic') learn(c.password)
      else if (c?.kind === 'identityToken') learn(c.token)
      return c
    },
  }
}

/** A fetch that reports the credentials of every Authorization header it sends (bearer tokens, basic passwords). */
export function reportingFetch(inner: typeof fetch, learn: (value: string) => void): typeof fetch {
  return (input, init) => {
    const headers = new Headers(init?.headers ?? (input instanceof Request ? input.headers : undefined))
    const auth = headers.get('authorization')
    if (auth) {
      const sp = auth.indexOf(' ')
      const scheme = auth.slice(0, sp).toLowerCase()
      const cred = auth.slice(sp + 1).trim()
      learn(cred)
      if (scheme === 'basic') {
        const decoded = Buffer.from(cred, 'base64').toString('utf8')
        const colon = decoded.indexOf(':')
        if (colon >= 0) learn(decoded.slice(colon + 1))
      }
    }
    return inner(input, init)
  }
}

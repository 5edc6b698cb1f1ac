// A Docker token-auth server for tests (https://distribution.github.io/distribution/spec/auth/token/):
// GET /token?service=&scope=&account= with optional Basic credentials, and the OAuth2 form
// POST /token (grant_type=password | refresh_token). It signs ES256 JWTs whose `x5c` header holds a
// self-signed certificate made with `openssl req -x509 -newkey ec`; the registry trusts the same
// certificate as its `rootcertbundle`.
import { createPrivateKey, type KeyObject, randomUUID, sign } from 'node:crypto'
import { readFile } from 'node:fs/promises'
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import { join } from 'node:path'
import { execFile } from '../../src/core/exec-file.ts'

export interface TokenServerOptions {
  /** username → password */
  users: Readonly<Record<string, string>>
  /** refresh (identity) token → username, for POST grant_type=refresh_token */
  refreshTokens?: Readonly<Record<string, string>>
  /** What anonymous callers get: nothing (default, like a private registry) or pull on every repository. */
  anonymous?: 'none' | 'pull'
  /** Which JSON field carries the token (registries differ); default both. */
  tokenField?: 'token' | 'access_token' | 'both'
  expiresInS?: number
  service?: string
  issuer?: string
}

/** One request the server answered, for assertions (token reuse, scopes asked for). */
export interface TokenRequestRecord {
  method: string
  account: string | undefined
  grantType: string | undefined
  scopes: string[]
  status: number
}

export interface TokenServer {
  realm: string
  service: string
  issuer: string
  /** PEM certificate to configure as the registry's rootcertbundle. */
  certPath: string
  requests: TokenRequestRecord[]
  stop(): Promise<void>
}

const b64url = (b: Buffer | string): string => Buffer.from(b).toString('base64url')

function jwt(key: KeyObject, x5c: string, claims: Record<string, unknown>): string {
  const header = b64url(JSON.stringify({ typ: 'JWT', alg: 'ES256', x5c: [x5c] }))
  const payload = b64url(JSON.stringify(claims))
  const sig = sign('sha256', Buffer.from(`${header}.${payload}`), { key, dsaEncoding: 'ieee-p1363' })
  return `${header}.${payload}.${b64url(sig)}`
}

async function readBody(req: IncomingMessage): Promise<string> {
  const parts: Buffer[] = []
  for await (const c of req) parts.push(c as Buffer)
  return Buffer.concat(parts).toString('utf8')
}

function parseBasic(h: string | undefined): { user: string; pass: string } | undefined {
  const m = /^Basic\s+(.+)$/i.exec(h ?? '')
  if (!m) return undefined
  const s = Buffer.from(m[1] as string, 'base64').toString('utf8')
  const i = s.indexOf(':')
  return i < 0 ? undefined : { user: s.slice(0, i), pass: s.slice(i + 1) }
}

/** `repository:team/app:pull,push` → access entry; other scope forms are ignored. */
function accessFor(scopes: string[], allowed: (action: string) => boolean) {
  const out: { type: string; name: string; actions: string[] }[] = []
  for (const s of scopes) {
    const m = /^(repository):(.+):([a-z*,]+)$/.exec(s)
    if (!m) continue
    out.push({ type: m[1] as string, name: m[2] as string, actions: (m[3] as string).split(',').filter(allowed) })
  }
  return out
}

/** Starts the token server on 127.0.0.1 (free port); `dir` receives the key and certificate. */
export async function startTokenServer(dir: string, o: TokenServerOptions): Promise<TokenServer> {
  const keyPath = join(dir, 'token-key.pem')
  const certPath = join(dir, 'token-cert.pem')
  await execFile('openssl', [
    'req',
    '-x509',
    '-newkey',
    'ec',
    '-pkeyopt',
    'ec_paramgen_curve:prime256v1',
    '-nodes',
    '-keyout',
    keyPath,
    '-out',
    certPath,
    '-days',
    '2',
    '-subj',
    '/CN=cairn-test-token-issuer',
  ])
  const key = createPrivateKey(await readFile(keyPath))
  const certPem = await readFile(certPath, 'utf8')
  const x5c = certPem.replace(/-----[A-Z ]+-----/g, '').replace(/\s+/g, '')
  const service = o.service ?? 'test-registry'
  const issuer = o.issuer ?? 'test-issuer'
  const requests: TokenRequestRecord[] = []

  const handle = async (req: IncomingMessage, res: ServerResponse) => {
    const url = new URL(req.url ?? '/', 'http://x')
    const reply = (status: number, doc: unknown, rec: Omit<TokenRequestRecord, 'status'>) => {
      requests.push({ ...rec, status })
      res.writeHead(status, { 'content-type': 'application/json' })
      res.end(JSON.stringify(doc))
    }
    if (url.pathname !== '/token')
      return reply(404, { errors: [{ code: 'NOT_FOUND' }] }, { method: req.method ?? '', account: undefined, grantType: undefined, scopes: [] })
    let account: string | undefined
    let authenticated = false
    let grantType: string | undefined
    let scopes: string[]
    let denied = false
    if (req.method === 'POST') {
      const form = new URLSearchParams(await readBody(req))
      grantType = form.get('grant_type') ?? undefined
      scopes = (form.get('scope') ?? '').split(' ').filter((s) => s !== '')
      if (grantType === 'refresh_token') {
        account = o.refreshTokens?.[form.get('refresh_token') ?? '']
        authenticated = account !== undefined
        denied = !authenticated
      } else if (grantType === 'password') {
        account = form.get('username') ?? undefined
        authenticated = account !== undefined && o.users[account] === form.get('password')
        denied = !authenticated
      } else denied = true
    } else {
      scopes = url.searchParams
        .getAll('scope')
        .flatMap((s) => s.split(' '))
        .filter((s) => s !== '')
      const basic = parseBasic(req.headers.authorization)
      if (basic) {
        account = basic.user
        authenticated = o.users[basic.user] === basic.pass
        denied = !authenticated
      }
    }
    const rec = { method: req.method ?? '', account, grantType, scopes }
    if (denied) return reply(401, { errors: [{ code: 'UNAUTHORIZED', message: 'invalid credentials' }] }, rec)
    const anonPull = o.anonymous === 'pull'
    const access = accessFor(scopes, (a) => authenticated || (anonPull && a === 'pull'))
    const now = Math.floor(Date.now() / 1000)
    const expiresIn = o.expiresInS ?? 300
    const token = jwt(key, x5c, { iss: issuer, sub: account ?? '', aud: service, exp: now + expiresIn, nbf: now - 10, iat: now, jti: randomUUID(), access })
    const field = o.tokenField ?? 'both'
    reply(
      200,
      {
        ...(field !== 'access_token' ? { token } : {}),
        ...(field !== 'token' ? { access_token: token } : {}),
        expires_in: expiresIn,
        issued_at: new Date(now * 1000).toISOString(),
        ...(grantType === 'password' ? { refresh_token: `refresh-${account}` } : {}),
      },
      rec,
    )
  }

  const server = createServer((req, res) => {
    handle(req, res).catch((err: unknown) => {
      res.writeHead(500)
      res.end(String(err))
    })
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const port = (server.address() as AddressInfo).port
  return {
    realm: `http://127.0.0.1:${port}/token`,
    service,
    issuer,
    certPath,
    requests,
    stop: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections()
        server.close(() => resolve())
      }),
  }
}

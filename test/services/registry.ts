// Starts Debian's `docker-registry serve CONFIG` (distribution 2.8) on a free loopback port with
// tmpdir storage, optionally behind htpasswd or token auth, and optionally behind a small counting
// proxy so tests can see every request and the bytes uploaded to blob upload sessions.
import { type ChildProcess, spawn, spawnSync } from 'node:child_process'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { createServer, request as httpRequest, type Server } from 'node:http'
import { type AddressInfo, createServer as createNetServer } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Transform } from 'node:stream'
import { pipeline } from 'node:stream/promises'
import { CairnError } from '../../src/core/errors.ts'
import { execFile } from '../../src/core/exec-file.ts'
import { startTokenServer, type TokenServer, type TokenServerOptions } from './token-server.ts'

export interface RegistryOptions {
  auth?: 'none' | 'htpasswd' | 'token'
  /** username → password (htpasswd and token variants). Default: one user `cairn`. */
  users?: Record<string, string>
  /** Put a counting proxy in front; `host` then points at the proxy. */
  counting?: boolean
  /** Extra token server settings (token variant). */
  token?: Partial<Omit<TokenServerOptions, 'users'>>
}

/** One request seen by the counting proxy. */
export interface ProxyRecord {
  method: string
  path: string
  status: number
  /** Request body bytes sent upstream. */
  bytes: number
}

export interface RunningRegistry {
  /** `127.0.0.1:PORT`: what clients should use (the proxy when counting). */
  host: string
  users: Record<string, string>
  /** Set for the token variant. */
  tokenServer: TokenServer | undefined
  /** Requests seen by the counting proxy (empty unless `counting`). */
  requests: ProxyRecord[]
  /** Bytes sent in PATCH/PUT bodies to blob upload sessions (counting mode). */
  uploadBytes(): number
  logs(): string
  stop(): Promise<void>
}

/** True when Debian's docker-registry binary can be run. */
export function haveDockerRegistry(): boolean {
  return spawnSync('docker-registry', ['--version'], { stdio: 'ignore' }).status === 0
}

export async function freePort(): Promise<number> {
  const srv = createNetServer()
  await new Promise<void>((resolve, reject) => {
    srv.once('error', reject)
    srv.listen(0, '127.0.0.1', resolve)
  })
  const port = (srv.address() as AddressInfo).port
  await new Promise<void>((resolve) => srv.close(() => resolve()))
  return port
}

async function htpasswdFile(dir: string, users: Record<string, string>): Promise<string> {
  const lines: string[] = []
  for (const [u, p] of Object.entries(users)) {
    try {
      lines.push((await execFile('htpasswd', ['-Bbn', u, p])).trim())
    } catch (err) {
      throw new CairnError('ERR_TEST_SERVICE', `htpasswd failed (Debian: apt-get install -y apache2-utils): ${(err as Error).message}`)
    }
  }
  const path = join(dir, 'htpasswd')
  await writeFile(path, `${lines.join('\n')}\n`)
  return path
}

async function waitReady(child: ChildProcess, host: string, logs: string[]): Promise<'ready' | 'addrinuse'> {
  const deadline = Date.now() + 15_000
  while (Date.now() < deadline) {
    if (child.exitCode !== null || child.signalCode !== null) {
      return /address already in use/i.test(logs.join(''))
        ? 'addrinuse'
        : Promise.reject(new CairnError('ERR_TEST_SERVICE', `docker-registry exited (${child.exitCode}):\n${logs.join('')}`))
    }
    try {
      const res = await fetch(`http://${host}/v2/`)
      await res.body?.cancel()
      if (res.status === 200 || res.status === 401) return 'ready'
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 50))
  }
  throw new CairnError('ERR_TEST_SERVICE', `docker-registry on ${host} did not answer /v2/ within 15 s:\n${logs.join('')}`)
}

async function startProxy(upstreamPort: number, records: ProxyRecord[]): Promise<Server> {
  const server = createServer((req, res) => {
    let bytes = 0
    const counter = new Transform({
      transform(chunk: Buffer, _enc, cb) {
        bytes += chunk.length
        cb(null, chunk)
      },
    })
    const up = httpRequest({ host: '127.0.0.1', port: upstreamPort, method: req.method, path: req.url, headers: req.headers }, (upRes) => {
      records.push({ method: req.method ?? '', path: (req.url ?? '').split('?')[0] as string, status: upRes.statusCode ?? 0, bytes })
      res.writeHead(upRes.statusCode ?? 502, upRes.headers)
      pipeline(upRes, res).catch(() => res.destroy())
    })
    up.on('error', () => res.destroy())
    pipeline(req, counter, up).catch(() => up.destroy())
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  return server
}

/** Starts a registry; call `stop()` when done (kills it and removes its storage). */
export async function startRegistry(o: RegistryOptions = {}): Promise<RunningRegistry> {
  const auth = o.auth ?? 'none'
  const users = o.users ?? { cairn: 'S3cret-pass word!' }
  const dir = await mkdtemp(join(tmpdir(), 'cairn-registry-'))
  let tokenServer: TokenServer | undefined
  const authConfig: Record<string, unknown> = {}
  if (auth === 'htpasswd') authConfig.htpasswd = { realm: 'test-registry', path: await htpasswdFile(dir, users) }
  if (auth === 'token') {
    tokenServer = await startTokenServer(dir, { users, ...o.token })
    authConfig.token = { realm: tokenServer.realm, service: tokenServer.service, issuer: tokenServer.issuer, rootcertbundle: tokenServer.certPath }
  }
  const logs: string[] = []
  let child: ChildProcess | undefined
  let port = 0
  for (let tries = 0; ; tries++) {
    port = await freePort()
    // JSON is YAML, so the config is written as JSON.
    const config = {
      version: '0.1',
      log: { level: 'warn', accesslog: { disabled: true } },
      storage: { filesystem: { rootdirectory: join(dir, 'data') }, delete: { enabled: true } },
      http: { addr: `127.0.0.1:${port}`, secret: 'cairn-test-secret' },
      ...(auth === 'none' ? {} : { auth: authConfig }),
    }
    const configPath = join(dir, 'config.yml')
    await writeFile(configPath, JSON.stringify(config, null, 2))
    logs.length = 0
    child = spawn('docker-registry', ['serve', configPath], { stdio: ['ignore', 'pipe', 'pipe'] })
    child.stdout?.on('data', (b: Buffer) => logs.push(b.toString()))
    child.stderr?.on('data', (b: Buffer) => logs.push(b.toString()))
    const state = await waitReady(child, `127.0.0.1:${port}`, logs)
    if (state === 'ready') break
    if (tries >= 5) throw new CairnError('ERR_TEST_SERVICE', `docker-registry: no free port after ${tries + 1} tries`)
  }
  const requests: ProxyRecord[] = []
  const proxy = o.counting ? await startProxy(port, requests) : undefined
  const host = proxy ? `127.0.0.1:${(proxy.address() as AddressInfo).port}` : `127.0.0.1:${port}`
  const proc = child as ChildProcess
  return {
    host,
    users,
    tokenServer,
    requests,
    uploadBytes: () =>
      requests.filter((r) => (r.method === 'PATCH' || r.method === 'PUT') && r.path.includes('/blobs/uploads/')).reduce((n, r) => n + r.bytes, 0),
    logs: () => logs.join(''),
    async stop() {
      if (proxy) {
        proxy.closeAllConnections()
        await new Promise<void>((resolve) => proxy.close(() => resolve()))
      }
      if (proc.exitCode === null && proc.signalCode === null) {
        const exited = new Promise<void>((resolve) => proc.once('exit', () => resolve()))
        proc.kill('SIGTERM')
        await exited
      }
      await tokenServer?.stop()
      await rm(dir, { recursive: true, force: true })
    },
  }
}

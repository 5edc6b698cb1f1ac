import { spawn } from 'node:child_process'
import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { CairnError, InvalidArgumentError } from '../core/errors.ts'

/** Credentials for one registry: a username/password pair or an OAuth2 refresh ("identity") token. */
export type RegistryCredential = { kind: 'basic'; username: string; password: string } | { kind: 'identityToken'; token: string; username?: string }

/** Looks up credentials by registry host (`127.0.0.1:5000`, `docker.io`). Resolves undefined when none. */
export interface CredentialStore {
  get(registry: string, signal?: AbortSignal): Promise<RegistryCredential | undefined>
}

/** Runs `docker-credential-<helper> get` with `serverUrl` on stdin and resolves its stdout; undefined when the helper has none. */
export type CredentialHelperRunner = (helper: string, serverUrl: string, signal?: AbortSignal) => Promise<string | undefined>

export interface DockerConfigOptions {
  /** Environment to read DOCKER_CONFIG and HOME from (never process.env implicitly). */
  env: Readonly<Record<string, string | undefined>>
  /** Explicit config.json path; overrides DOCKER_CONFIG and HOME. */
  configPath?: string
  runHelper?: CredentialHelperRunner
  readFile?: (path: string) => Promise<string>
}

/** The key Docker stores Docker Hub credentials under. */
export const DOCKER_HUB_AUTH_KEY = 'https://index.docker.io/v1/'

/** The config.json key for a registry host: Docker Hub's legacy URL for docker.io, the host otherwise. */
export const authKeyFor = (registry: string): string =>
  registry === 'docker.io' || registry === 'index.docker.io' || registry === 'registry-1.docker.io' ? DOCKER_HUB_AUTH_KEY : registry

/** `https://host/v1/` → `host` (Docker's convertToHostname), so keys written with a scheme still match. */
export function normalizeAuthKey(key: string): string {
  if (key === DOCKER_HUB_AUTH_KEY || /^(https?:\/\/)?(index|registry-1)\.docker\.io(\/|$)/.test(key)) return 'docker.io'
  return key.replace(/^https?:\/\//, '').split('/')[0] as string
}

interface AuthEntry {
  auth?: string
  username?: string
  password?: string
  identitytoken?: string
}
interface DockerConfigFile {
  auths?: Record<string, AuthEntry>
  credHelpers?: Record<string, string>
  credsStore?: string
}

/** A fixed host → credential map (tests, CLI flags). */
export function staticCredentials(map: Readonly<Record<string, RegistryCredential>>): CredentialStore {
  return { get: async (registry) => map[registry] ?? map[authKeyFor(registry)] }
}

function fromEntry(e: AuthEntry, path: string, key: string): RegistryCredential | undefined {
  if (e.identitytoken) return { kind: 'identityToken', token: e.identitytoken, ...(e.username ? { username: e.username } : {}) }
  if (e.auth) {
    const decoded = Buffer.from(e.auth, 'base64').toString('utf8')
    const colon = decoded.indexOf(':')
    if (colon < 0)
      throw new InvalidArgumentError(`${path}: auths[${JSON.stringify(key)}].auth is not base64 of user:password`, {
        hint: `run \`docker login ${key}\` again`,
      })
    return { kind: 'basic', username: decoded.slice(0, colon), password: decoded.slice(colon + 1) }
  }
  if (e.username && e.password !== undefined) return { kind: 'basic', username: e.username, password: e.password }
  return undefined
}

function fromHelperOutput(out: string, helper: string): RegistryCredential | undefined {
  let doc: { Username?: string; Secret?: string }
  try {
    doc = JSON.parse(out) as typeof doc
  } catch {
    throw new CairnError('ERR_REGISTRY_CREDENTIAL_HELPER', `docker-credential-${helper} printed something that is not JSON`)
  }
  if (!doc.Secret) return undefined
  if (doc.Username === '<token>') return { kind: 'identityToken', token: doc.Secret }
  return { kind: 'basic', username: doc.Username ?? '', password: doc.Secret }
}

/**
 * The default helper runner: spawns `docker-credential-<name> get` found on `env.PATH`, with the
 * server URL on stdin. A "credentials not found" answer resolves undefined.
 */
export const spawnCredentialHelper =
  (env: Readonly<Record<string, string | undefined>>): CredentialHelperRunner =>
  (helper, serverUrl, signal) =>
    new Promise((resolve, reject) => {
      const prog = `docker-credential-${helper}`
      const childEnv = Object.fromEntries(Object.entries(env).filter((e): e is [string, string] => e[1] !== undefined))
      const child = spawn(prog, ['get'], { stdio: ['pipe', 'pipe', 'pipe'], env: childEnv, ...(signal ? { signal } : {}) })
      const out: Buffer[] = []
      child.stdout.on('data', (b: Buffer) => out.push(b))
      child.stderr.resume()
      child.on('error', (e: NodeJS.ErrnoException) =>
        reject(
          e.code === 'ENOENT'
            ? new CairnError('ERR_REGISTRY_CREDENTIAL_HELPER', `credential helper ${prog} not found (named in docker config.json)`, {
                hint: `install ${prog} or remove it from credHelpers/credsStore in config.json`,
              })
            : e,
        ),
      )
      child.on('close', (code) => {
        const text = Buffer.concat(out).toString('utf8').trim()
        if (code === 0) return resolve(text)
        if (/credentials not found/i.test(text)) return resolve(undefined)
        // The helper's output may echo secrets; it is not included.
        reject(new CairnError('ERR_REGISTRY_CREDENTIAL_HELPER', `${prog} get for ${serverUrl} failed with exit code ${code}`))
      })
      child.stdin.end(serverUrl)
    })

/**
 * Reads credentials the way the docker CLI does, from `$DOCKER_CONFIG/config.json` (else
 * `$HOME/.docker/config.json`): `credHelpers[host]` first, then `credsStore`, then inline `auths`
 * (base64 `auth`, `username`/`password`, `identitytoken`). The file is read once; helper answers are
 * cached per host. A missing file means no credentials.
 */
export function createDockerConfigCredentials(o: DockerConfigOptions): CredentialStore {
  const path = o.configPath ?? (o.env.DOCKER_CONFIG ? join(o.env.DOCKER_CONFIG, 'config.json') : join(o.env.HOME ?? '/root', '.docker', 'config.json'))
  const read = o.readFile ?? ((p: string) => readFile(p, 'utf8'))
  const runHelper = o.runHelper ?? spawnCredentialHelper(o.env)
  let config: Promise<DockerConfigFile> | undefined
  const cache = new Map<string, Promise<RegistryCredential | undefined>>()

  const load = async (): Promise<DockerConfigFile> => {
    let text: string
    try {
      text = await read(path)
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return {}
      throw err
    }
    try {
      return JSON.parse(text) as DockerConfigFile
    } catch {
      throw new InvalidArgumentError(`${path}: not valid JSON`, { hint: 'fix or remove the docker config file' })
    }
  }

  const lookup = async (registry: string, signal?: AbortSignal): Promise<RegistryCredential | undefined> => {
    config ??= load()
    const cfg = await config
    const host = normalizeAuthKey(registry)
    const key = authKeyFor(host)
    const helper = Object.entries(cfg.credHelpers ?? {}).find(([k]) => normalizeAuthKey(k) === host)?.[1]
    if (helper) {
      const out = await runHelper(helper, key, signal)
      return out === undefined ? undefined : fromHelperOutput(out, helper)
    }
    if (cfg.credsStore) {
      const out = await runHelper(cfg.credsStore, key, signal)
      const cred = out === undefined ? undefined : fromHelperOutput(out, cfg.credsStore)
      if (cred) return cred
    }
    const auths = cfg.auths ?? {}
    const exact = auths[key]
    const entry = exact ? ([key, exact] as const) : Object.entries(auths).find(([k]) => normalizeAuthKey(k) === host)
    return entry ? fromEntry(entry[1], path, entry[0]) : undefined
  }

  return {
    get(registry, signal) {
      let p = cache.get(registry)
      if (!p) {
        p = lookup(registry, signal)
        cache.set(registry, p)
        p.catch(() => cache.delete(registry))
      }
      return p
    },
  }
}

import { parseGoDurationMs } from '../../../core/go-duration.ts'
import { InvalidArgumentError } from '../../../core/errors.ts'
import { checkScopeAttr } from './keys.ts'

/**
 * The gha backend's attributes (buildkit-cache-format.md §3.4 "Attributes"). Missing values fall
 * back to the runner environment the way buildx fills them in client-side.
 */
export interface GhaTransportConfig {
  /** User namespace inside the index key; default `buildkit`. Also the default ref name. */
  scope?: string
  /** Runtime token (JWT); default `$ACTIONS_RUNTIME_TOKEN`. */
  token?: string
  /** v1 base URL; default `$ACTIONS_CACHE_URL`, else `$ACTIONS_RESULTS_URL`. */
  url?: string
  /** v2 base URL; default `$ACTIONS_RESULTS_URL` when `$ACTIONS_CACHE_SERVICE_V2` is true or version is 2. */
  url_v2?: string
  /** Protocol version (1 or 2); unset: chosen as BuildKit's getConfig does. */
  version?: number
  /** Overall retry deadline per request in ms; default 10 minutes. */
  timeoutMs?: number
  /** Upload chunk (v1 PATCH) / block (v2 Put Block) size; default 4 MiB (memory held: about (concurrency + 1) chunks). */
  chunkSize?: number
  /** Chunks in flight per upload; default 4. */
  uploadConcurrency?: number
}

export interface ResolvedGhaConfig {
  scope: string
  token: string
  protocol: 1 | 2
  /** Base URL, always ending in `/`. */
  baseUrl: string
  timeoutMs: number
  chunkSize: number
  uploadConcurrency: number
}

export const DEFAULT_TIMEOUT_MS = 10 * 60_000

/** Go's strconv.ParseBool. */
export function parseGoBool(s: string | undefined): boolean | undefined {
  if (s === undefined) return undefined
  if (['1', 't', 'T', 'TRUE', 'true', 'True'].includes(s)) return true
  if (['0', 'f', 'F', 'FALSE', 'false', 'False'].includes(s)) return false
  return undefined
}

const missing = (what: string, hint: string): InvalidArgumentError => new InvalidArgumentError(`gha cache: ${what}`, { code: 'ERR_GHA_CONFIG', hint })

/** Applies the env defaults and BuildKit's version selection (`getConfig`). */
export function resolveGhaConfig(cfg: GhaTransportConfig, env: Readonly<Record<string, string | undefined>>): ResolvedGhaConfig {
  const nonEmpty = (s: string | undefined): string | undefined => (s === undefined || s === '' ? undefined : s)
  const token = nonEmpty(cfg.token) ?? nonEmpty(env.ACTIONS_RUNTIME_TOKEN)
  if (token === undefined) {
    throw missing(
      'no token (attribute token= or $ACTIONS_RUNTIME_TOKEN)',
      'run inside GitHub Actions with docker/build-push-action, or expose the runtime variables with crazy-max/ghaction-github-runtime',
    )
  }
  if (cfg.version !== undefined && cfg.version !== 1 && cfg.version !== 2) {
    throw missing(`unsupported version ${cfg.version}`, 'use version=1 (GHES, legacy REST) or version=2 (github.com)')
  }
  const url = nonEmpty(cfg.url) ?? nonEmpty(env.ACTIONS_CACHE_URL) ?? nonEmpty(env.ACTIONS_RESULTS_URL)
  const v2On = parseGoBool(env.ACTIONS_CACHE_SERVICE_V2) === true || cfg.version === 2
  const urlV2 = nonEmpty(cfg.url_v2) ?? (v2On ? nonEmpty(env.ACTIONS_RESULTS_URL) : undefined)
  let base: string
  let protocol: 1 | 2 | undefined = cfg.version as 1 | 2 | undefined
  if (cfg.version !== 1 && urlV2 !== undefined) {
    base = urlV2
    protocol = 2
  } else if (url !== undefined) {
    base = url
  } else {
    throw missing(
      'no cache service URL (url=, url_v2=, $ACTIONS_CACHE_URL or $ACTIONS_RESULTS_URL)',
      'run inside GitHub Actions, or pass url= (v1) or url_v2= (v2)',
    )
  }
  protocol ??= base.includes('results-receiver.actions.githubusercontent.com') ? 2 : 1
  try {
    new URL(base)
  } catch {
    throw missing(`invalid service URL ${JSON.stringify(base)}`, 'pass an absolute http(s) URL')
  }
  const positive = (n: number | undefined, d: number, what: string): number => {
    if (n === undefined) return d
    if (!Number.isSafeInteger(n) || n <= 0) throw missing(`${what} must be a positive integer, got ${n}`, `omit ${what} to use the default`)
    return n
  }
  return {
    scope: checkScopeAttr(cfg.scope ?? 'buildkit'),
    token,
    protocol,
    baseUrl: base.endsWith('/') ? base : `${base}/`,
    timeoutMs: positive(cfg.timeoutMs, DEFAULT_TIMEOUT_MS, 'timeout'),
    chunkSize: positive(cfg.chunkSize, 4 << 20, 'chunkSize'),
    uploadConcurrency: positive(cfg.uploadConcurrency, 4, 'uploadConcurrency'),
  }
}

/** Go's time.ParseDuration, in milliseconds (`10m`, `1h30m`, `1.5s`). */
export const parseGoDuration = (s: string, what = 'timeout'): number => parseGoDurationMs(s, what)

/** Maps BuildKit `--cache-to/--cache-from type=gha,…` attributes to the transport config. */
export function parseGhaAttrs(attrs: Readonly<Record<string, string>>): GhaTransportConfig {
  const cfg: GhaTransportConfig = {}
  if (attrs.scope !== undefined) cfg.scope = attrs.scope
  if (attrs.token !== undefined) cfg.token = attrs.token
  if (attrs.url !== undefined) cfg.url = attrs.url
  if (attrs.url_v2 !== undefined) cfg.url_v2 = attrs.url_v2
  if (attrs.version !== undefined && attrs.version !== '') {
    const v = Number(attrs.version)
    if (!Number.isInteger(v)) throw new InvalidArgumentError(`invalid gha version ${JSON.stringify(attrs.version)}: expected an integer`)
    cfg.version = v
  }
  if (attrs.timeout !== undefined) cfg.timeoutMs = parseGoDuration(attrs.timeout)
  return cfg
}

import { isIP } from 'node:net'
import type { Digest } from '../../../core/digest.ts'
import { InvalidArgumentError } from '../../../core/errors.ts'

/**
 * The azblob cache backend's settings, already parsed from `type=azblob,...` attributes (BuildKit's
 * names). Optional fields take BuildKit's defaults; the `$BUILDKIT_AZURE_STORAGE_*` fallbacks
 * belong to whoever maps attributes to this object.
 */
export interface AzblobTransportConfig {
  /** `https://<account>.blob.core.windows.net`, optionally with a SAS query string. Required unless
   * the env has AZURE_STORAGE_CONNECTION_STRING. */
  account_url?: string
  /** Default: the first DNS label of the account URL's host (for an IP or localhost host, the
   * first path segment, the emulator convention). Needed for shared-key auth. */
  account_name?: string
  /** Default `buildkit-cache`; created when missing (on the first write). */
  container?: string
  /** Default `""`. Names are path-joined: `<prefix>/<blobs_prefix>/sha256:<hex>`. */
  prefix?: string
  /** Default `blobs`. */
  blobs_prefix?: string
  /** Default `manifests`. */
  manifests_prefix?: string
  /** Account key for shared-key authentication. */
  secret_access_key?: string
  /** cairn extension: blocks staged concurrently per blob upload. Default 4 (BuildKit's). */
  upload_concurrency?: number
  /** cairn extension: block size in bytes. Default 8 MiB (BuildKit uses 32 MiB), grown for huge blobs. */
  block_size?: number
}

export interface ResolvedAzblobConfig {
  accountUrl: string | undefined
  accountName: string | undefined
  container: string
  prefix: string
  blobsPrefix: string
  manifestsPrefix: string
  secretAccessKey: string | undefined
  uploadConcurrency: number
  blockSize: number
}

export const DEFAULT_BLOCK_SIZE = 8 * 1024 * 1024
const MAX_BLOCKS = 50_000
const isPosInt = (n: unknown): n is number => typeof n === 'number' && Number.isInteger(n) && n > 0

/** Applies BuildKit's defaults and validates; errors name the attribute. */
export function resolveAzblobConfig(cfg: AzblobTransportConfig): ResolvedAzblobConfig {
  const bad = (attr: string, what: string, hint: string): never => {
    throw new InvalidArgumentError(`azblob cache: ${attr} ${what}`, { hint, code: 'ERR_CACHE_AZBLOB_CONFIG' })
  }
  let accountName = cfg.account_name || undefined
  if (cfg.account_url) {
    let u: URL
    try {
      u = new URL(cfg.account_url)
    } catch {
      return bad('account_url', 'is not a valid URL', 'e.g. account_url=https://myaccount.blob.core.windows.net')
    }
    if (u.username || u.password) bad('account_url', 'must not contain user:password', 'pass secret_access_key= or a SAS query string')
    accountName ??= defaultAccountName(u)
  }
  if (cfg.upload_concurrency !== undefined && !isPosInt(cfg.upload_concurrency)) bad('upload_concurrency', 'must be a positive integer', 'e.g. 4')
  if (cfg.block_size !== undefined && !(isPosInt(cfg.block_size) && cfg.block_size <= 4000 * 1024 * 1024)) {
    bad('block_size', 'must be a positive integer up to 4000 MiB', 'e.g. 8388608')
  }
  const container = cfg.container || 'buildkit-cache'
  if (!/^[a-z0-9](?:[a-z0-9]|-(?=[a-z0-9])){2,62}$/.test(container)) {
    bad('container', `${JSON.stringify(container)} is not a valid container name`, 'use 3-63 lowercase letters, digits and single hyphens')
  }
  return {
    accountUrl: cfg.account_url || undefined,
    accountName,
    container,
    prefix: cfg.prefix ?? '',
    blobsPrefix: cfg.blobs_prefix ?? 'blobs',
    manifestsPrefix: cfg.manifests_prefix ?? 'manifests',
    secretAccessKey: cfg.secret_access_key || undefined,
    uploadConcurrency: cfg.upload_concurrency ?? 4,
    blockSize: cfg.block_size ?? DEFAULT_BLOCK_SIZE,
  }
}

/** BuildKit: the first DNS label of the host. For emulator URLs (`http://127.0.0.1:10000/acct`) the first path segment. */
function defaultAccountName(u: URL): string | undefined {
  const host = u.hostname.replace(/^\[|\]$/g, '')
  if (isIP(host) !== 0 || host === 'localhost') {
    const seg = u.pathname.split('/').find((s) => s !== '')
    if (seg) return decodeURIComponent(seg)
  }
  return host.split('.')[0] || undefined
}

/** Go's `path.Join`: joins the non-empty parts with `/` and cleans the result (`//`, `.`, `..`). */
export function goPathJoin(...parts: string[]): string {
  const joined = parts.filter((p) => p !== '').join('/')
  if (joined === '') return ''
  const rooted = joined.startsWith('/')
  const out: string[] = []
  for (const seg of joined.split('/')) {
    if (seg === '' || seg === '.') continue
    if (seg === '..') {
      if (out.length > 0 && out[out.length - 1] !== '..') out.pop()
      else if (!rooted) out.push('..')
      continue
    }
    out.push(seg)
  }
  const s = (rooted ? '/' : '') + out.join('/')
  return s === '' ? '.' : s
}

/** `<prefix>/<blobs_prefix>/sha256:<hex>` with path-join semantics, exactly as BuildKit names blobs. */
export const azBlobName = (c: ResolvedAzblobConfig, d: Digest): string => goPathJoin(c.prefix, c.blobsPrefix, d)

/** `<prefix>/<manifests_prefix>/<name>`. */
export const azManifestName = (c: ResolvedAzblobConfig, name: string): string => goPathJoin(c.prefix, c.manifestsPrefix, name)

/** The configured block size, grown (in whole MiB) so `size` bytes fit in 50,000 blocks. */
export function blockSizeFor(size: number, configured: number): number {
  const need = Math.ceil(size / MAX_BLOCKS)
  if (need <= configured) return configured
  const mib = 1024 * 1024
  return Math.ceil(need / mib) * mib
}

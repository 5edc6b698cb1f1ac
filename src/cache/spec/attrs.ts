/**
 * The attribute names each cache type accepts, as BuildKit spells them, with the direction they
 * apply to. `ignored` marks attributes BuildKit accepts but does not use for that type (compression
 * on object stores, mode on inline); `secret` marks values that must never be printed.
 */
import type { CacheType } from './types.ts'

export interface AttrDef {
  dir: 'both' | 'export' | 'import'
  secret?: true
  ignored?: string
}

const E: AttrDef = { dir: 'export' }
const I: AttrDef = { dir: 'import' }
const B: AttrDef = { dir: 'both' }
const SECRET: AttrDef = { dir: 'both', secret: true }
const COMPRESSION_IGNORED: AttrDef = { dir: 'export', ignored: 'this backend always uses gzip (BuildKit ignores compression here)' }

/** `merge` (cairn's own): keep what the destination ref already holds (other builds' records) instead of replacing it; default true. */
const EXPORT_COMMON = { mode: E, 'ignore-error': E, merge: E }
const COMPRESSION = { compression: E, 'compression-level': E, 'force-compression': E }
const WRAPPER = { 'oci-mediatypes': E, 'image-manifest': E }

export const ATTRS: Record<CacheType, Record<string, AttrDef>> = {
  local: { dest: E, src: I, digest: I, tag: B, reset: E, ...EXPORT_COMMON, ...COMPRESSION, ...WRAPPER },
  registry: { ref: B, 'registry.insecure': B, ...EXPORT_COMMON, ...COMPRESSION, ...WRAPPER },
  inline: { mode: { dir: 'export', ignored: 'inline cache always uses mode=min' } },
  gha: {
    scope: B,
    token: SECRET,
    url: B,
    url_v2: B,
    version: B,
    timeout: B,
    repository: E,
    ghtoken: { dir: 'export', secret: true },
    ...EXPORT_COMMON,
    compression: COMPRESSION_IGNORED,
    'compression-level': COMPRESSION_IGNORED,
    'force-compression': COMPRESSION_IGNORED,
  },
  s3: {
    bucket: B,
    region: B,
    prefix: B,
    blobs_prefix: B,
    manifests_prefix: B,
    name: B,
    endpoint_url: B,
    use_path_style: B,
    access_key_id: SECRET,
    secret_access_key: SECRET,
    session_token: SECRET,
    upload_parallelism: E,
    touch_refresh: E,
    disable_accept_encoding: B,
    retry_mode: B,
    retry_max_attempts: B,
    ...EXPORT_COMMON,
    compression: COMPRESSION_IGNORED,
    'compression-level': COMPRESSION_IGNORED,
    'force-compression': COMPRESSION_IGNORED,
  },
  azblob: {
    account_url: B,
    account_name: B,
    container: B,
    prefix: B,
    blobs_prefix: B,
    manifests_prefix: B,
    name: B,
    secret_access_key: SECRET,
    ...EXPORT_COMMON,
    compression: COMPRESSION_IGNORED,
    'compression-level': COMPRESSION_IGNORED,
    'force-compression': COMPRESSION_IGNORED,
  },
}

/** Names of attributes whose values are secrets, for any type. */
export const SECRET_ATTRS: ReadonlySet<string> = new Set(
  Object.values(ATTRS).flatMap((defs) =>
    Object.entries(defs)
      .filter(([, d]) => d.secret)
      .map(([k]) => k),
  ),
)

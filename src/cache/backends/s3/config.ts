import type { Digest } from '../../../core/digest.ts'
import { InvalidArgumentError } from '../../../core/errors.ts'

/**
 * The s3 cache backend's settings, already parsed from `--cache-to/--cache-from type=s3,...`
 * attributes (names as BuildKit spells them). Optional fields take BuildKit's defaults; `$AWS_BUCKET`
 * / `$AWS_REGION` fallbacks belong to whoever maps attributes to this object.
 */
export interface S3TransportConfig {
  bucket: string
  region: string
  /** Global key prefix, concatenated as-is (include your own `/`). Default `""`. */
  prefix?: string
  /** Default `blobs/`. Blob keys are `<prefix><blobs_prefix>sha256:<hex>`. */
  blobs_prefix?: string
  /** Default `manifests/`. Ref keys are `<prefix><manifests_prefix><name>`. */
  manifests_prefix?: string
  /** Custom endpoint (MinIO, s3rver, R2...). `use_path_style` only applies when this is set. */
  endpoint_url?: string
  use_path_style?: boolean
  /** Static credentials; used only when both id and secret are set, otherwise the AWS default chain. */
  access_key_id?: string
  secret_access_key?: string
  session_token?: string
  /** Multipart parts in flight per blob upload (lib-storage queueSize). Default 4. */
  upload_parallelism?: number
  /** `touch_refresh` in milliseconds: touch a blob whose LastModified is older than this. Default 24h. */
  touch_refresh_ms?: number
  /** SDK retry strategy. Default `standard`. */
  retry_mode?: 'standard' | 'adaptive'
  /** Tries per request including the first (throttling, 5xx, resets). Default 5. */
  retry_max_attempts?: number
  /** cairn extension: multipart part size in bytes (>= 5 MiB). Default 5 MiB, grown for huge blobs. */
  part_size?: number
}

export interface ResolvedS3Config {
  bucket: string
  region: string
  prefix: string
  blobsPrefix: string
  manifestsPrefix: string
  endpointUrl: string | undefined
  usePathStyle: boolean
  accessKeyId: string | undefined
  secretAccessKey: string | undefined
  sessionToken: string | undefined
  uploadParallelism: number
  touchRefreshMs: number
  retryMode: 'standard' | 'adaptive'
  retryMaxAttempts: number
  partSize: number
}

export const MIN_PART_SIZE = 5 * 1024 * 1024
/** As the Go SDK transfer manager BuildKit uses; memory per upload is about (queueSize + 2) parts. */
export const DEFAULT_PART_SIZE = MIN_PART_SIZE
export const DEFAULT_TOUCH_REFRESH_MS = 24 * 60 * 60 * 1000
const MAX_PARTS = 10_000

const isPosInt = (n: unknown): n is number => typeof n === 'number' && Number.isInteger(n) && n > 0

/** Applies BuildKit's defaults and validates; errors name the attribute. */
export function resolveS3Config(cfg: S3TransportConfig): ResolvedS3Config {
  const bad = (attr: string, what: string, hint: string): never => {
    throw new InvalidArgumentError(`s3 cache: ${attr} ${what}`, { hint, code: 'ERR_CACHE_S3_CONFIG' })
  }
  if (!cfg.bucket) bad('bucket', 'is not set', 'pass bucket=<name> or set $AWS_BUCKET')
  if (!cfg.region) bad('region', 'is not set', 'pass region=<region> or set $AWS_REGION')
  if (cfg.upload_parallelism !== undefined && !isPosInt(cfg.upload_parallelism)) {
    bad('upload_parallelism', `must be a positive integer, got ${String(cfg.upload_parallelism)}`, 'e.g. upload_parallelism=4')
  }
  if (cfg.retry_max_attempts !== undefined && !isPosInt(cfg.retry_max_attempts)) {
    bad('retry_max_attempts', `must be a positive integer, got ${String(cfg.retry_max_attempts)}`, 'e.g. retry_max_attempts=5')
  }
  if (cfg.part_size !== undefined && !(isPosInt(cfg.part_size) && cfg.part_size >= MIN_PART_SIZE)) {
    bad('part_size', `must be an integer >= ${MIN_PART_SIZE} (5 MiB)`, 'S3 rejects smaller multipart parts')
  }
  const touch = cfg.touch_refresh_ms
  if (touch !== undefined && !(Number.isFinite(touch) && touch >= 0)) bad('touch_refresh', 'must be a non-negative duration', 'e.g. touch_refresh=24h')
  let endpointUrl: string | undefined
  if (cfg.endpoint_url) {
    let u: URL
    try {
      u = new URL(cfg.endpoint_url)
    } catch {
      return bad('endpoint_url', 'is not a valid URL', 'e.g. endpoint_url=http://127.0.0.1:9000')
    }
    if (u.username || u.password) bad('endpoint_url', 'must not contain credentials', 'pass access_key_id/secret_access_key instead')
    endpointUrl = cfg.endpoint_url
  }
  return {
    bucket: cfg.bucket,
    region: cfg.region,
    prefix: cfg.prefix ?? '',
    blobsPrefix: cfg.blobs_prefix ?? 'blobs/',
    manifestsPrefix: cfg.manifests_prefix ?? 'manifests/',
    endpointUrl,
    usePathStyle: endpointUrl !== undefined && cfg.use_path_style === true,
    accessKeyId: cfg.access_key_id || undefined,
    secretAccessKey: cfg.secret_access_key || undefined,
    sessionToken: cfg.session_token || undefined,
    uploadParallelism: cfg.upload_parallelism ?? 4,
    touchRefreshMs: touch ?? DEFAULT_TOUCH_REFRESH_MS,
    retryMode: cfg.retry_mode ?? 'standard',
    retryMaxAttempts: cfg.retry_max_attempts ?? 5,
    partSize: cfg.part_size ?? DEFAULT_PART_SIZE,
  }
}

/** `<prefix><blobs_prefix>sha256:<hex>`, exactly as BuildKit (plain concatenation, colon kept). */
export const s3BlobKey = (c: ResolvedS3Config, d: Digest): string => `${c.prefix}${c.blobsPrefix}${d}`

/** `<prefix><manifests_prefix><name>`. */
export const s3ManifestKey = (c: ResolvedS3Config, name: string): string => `${c.prefix}${c.manifestsPrefix}${name}`

/** The configured part size, grown (in whole MiB) so a blob of `size` bytes fits in 10,000 parts. */
export function partSizeFor(size: number, configured: number): number {
  const need = Math.ceil(size / MAX_PARTS)
  if (need <= configured) return configured
  const mib = 1024 * 1024
  return Math.ceil(need / mib) * mib
}

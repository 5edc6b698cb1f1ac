/** Resolution of the `gha`, `s3` and `azblob` entries, with environment defaults as buildx/BuildKit apply them. */
import { InvalidArgumentError } from '../../core/errors.ts'
import type { AttrReader } from './reader.ts'
import type {
  CacheDirection,
  CacheSpecEnv,
  ResolvedAzblobExport,
  ResolvedAzblobImport,
  ResolvedGhaExport,
  ResolvedGhaImport,
  ResolvedS3Export,
  ResolvedS3Import,
} from './types.ts'
import { isTruthyEnv } from './values.ts'

type Base = { attrs: Record<string, string>; ignoredAttrs: { name: string; reason: string }[] }
const env1 = (env: CacheSpecEnv, k: string): string | undefined => (env[k] === '' ? undefined : env[k])

/** Fills gha defaults into `attrs` (buildx build/opt.go) before validation. */
export function fillGhaEnv(attrs: Record<string, string>, env: CacheSpecEnv): void {
  const token = env1(env, 'ACTIONS_RUNTIME_TOKEN')
  if (attrs.token === undefined && token) attrs.token = token
  const url = env1(env, 'ACTIONS_CACHE_URL') ?? env1(env, 'ACTIONS_RESULTS_URL')
  if (attrs.url === undefined && url) attrs.url = url
  const results = env1(env, 'ACTIONS_RESULTS_URL')
  if (attrs.url_v2 === undefined && results && (attrs.version === '2' || isTruthyEnv(env.ACTIONS_CACHE_SERVICE_V2))) attrs.url_v2 = results
}

export function resolveGha(r: AttrReader, dir: CacheDirection, base: Base): ResolvedGhaExport | ResolvedGhaImport {
  const token = r.required('token', 'run inside GitHub Actions with the runtime variables exposed (e.g. crazy-max/ghaction-github-runtime), or pass token=')
  const url = r.get('url')
  const urlV2 = r.get('url_v2')
  const version = r.int('version', Number.MIN_SAFE_INTEGER)
  let apiVersion: 1 | 2
  let baseUrl: string
  if (version !== 1 && urlV2 !== undefined) {
    apiVersion = 2
    baseUrl = urlV2
  } else if (url !== undefined) {
    baseUrl = url
    apiVersion = version === 2 ? 2 : version === undefined && url.includes('results-receiver.actions.githubusercontent.com') ? 2 : 1
  } else {
    throw new InvalidArgumentError(`${r.where}: url or url_v2 is required`, {
      hint: 'set $ACTIONS_CACHE_URL / $ACTIONS_RESULTS_URL (GitHub Actions runtime) or pass url=',
    })
  }
  for (const [name, v] of [
    ['url', url],
    ['url_v2', urlV2],
  ] as const) {
    if (v !== undefined && !/^https?:\/\//.test(v)) throw new InvalidArgumentError(`${r.what(name)}: expected an http(s) URL`)
  }
  const common = {
    type: 'gha' as const,
    ...base,
    scope: r.get('scope') ?? 'buildkit',
    token,
    url,
    urlV2,
    apiVersion,
    baseUrl,
    timeoutMs: r.durationMs('timeout', 600_000),
  }
  if (dir === 'import') return common
  return { ...common, ...r.exportOptions(), repository: r.get('repository'), ghToken: r.get('ghtoken') }
}

/** Fills s3 defaults from the environment: bucket, region, and credentials unless both id and secret were given. */
export function fillS3Env(attrs: Record<string, string>, env: CacheSpecEnv): void {
  if (attrs.bucket === undefined && env1(env, 'AWS_BUCKET')) attrs.bucket = env1(env, 'AWS_BUCKET') as string
  if (attrs.region === undefined && env1(env, 'AWS_REGION')) attrs.region = env1(env, 'AWS_REGION') as string
  if (!(attrs.access_key_id && attrs.secret_access_key)) {
    const id = env1(env, 'AWS_ACCESS_KEY_ID')
    const secret = env1(env, 'AWS_SECRET_ACCESS_KEY')
    if (id && secret) {
      attrs.access_key_id = id
      attrs.secret_access_key = secret
      const token = env1(env, 'AWS_SESSION_TOKEN')
      if (token) attrs.session_token = token
    }
  }
}

export function resolveS3(r: AttrReader, dir: CacheDirection, base: Base): ResolvedS3Export | ResolvedS3Import {
  const id = r.get('access_key_id')
  const secret = r.get('secret_access_key')
  const retryMaxAttempts = r.int('retry_max_attempts', 1)
  const common = {
    type: 's3' as const,
    ...base,
    bucket: r.required('bucket', 'pass bucket=<name> or set $AWS_BUCKET'),
    region: r.required('region', 'pass region=<aws region> or set $AWS_REGION'),
    prefix: r.attrs.prefix ?? '',
    blobsPrefix: r.attrs.blobs_prefix ?? 'blobs/',
    manifestsPrefix: r.attrs.manifests_prefix ?? 'manifests/',
    names: splitNames(r),
    endpointUrl: r.get('endpoint_url'),
    usePathStyle: r.bool('use_path_style', false),
    credentials: id && secret ? { accessKeyId: id, secretAccessKey: secret, sessionToken: r.get('session_token') } : undefined,
    disableAcceptEncoding: r.bool('disable_accept_encoding', false),
    retryMode: r.oneOf('retry_mode', ['standard', 'adaptive'] as const),
    retryMaxAttempts,
  }
  if (dir === 'import') return common
  return { ...common, ...r.exportOptions(), uploadParallelism: r.int('upload_parallelism', 1) ?? 4, touchRefreshMs: r.durationMs('touch_refresh', 86_400_000) }
}

/** Fills azblob defaults from `$BUILDKIT_AZURE_STORAGE_*`. */
export function fillAzblobEnv(attrs: Record<string, string>, env: CacheSpecEnv): void {
  const pairs: [string, string][] = [
    ['account_url', 'BUILDKIT_AZURE_STORAGE_ACCOUNT_URL'],
    ['account_name', 'BUILDKIT_AZURE_STORAGE_ACCOUNT_NAME'],
    ['container', 'BUILDKIT_AZURE_STORAGE_CONTAINER'],
    ['prefix', 'BUILDKIT_AZURE_STORAGE_PREFIX'],
  ]
  for (const [attr, name] of pairs) if (attrs[attr] === undefined && env1(env, name)) attrs[attr] = env1(env, name) as string
}

export function resolveAzblob(r: AttrReader, dir: CacheDirection, base: Base): ResolvedAzblobExport | ResolvedAzblobImport {
  const accountUrl = r.required('account_url', 'pass account_url=https://<account>.blob.core.windows.net or set $BUILDKIT_AZURE_STORAGE_ACCOUNT_URL')
  let host: string
  try {
    host = new URL(accountUrl).hostname
  } catch {
    throw new InvalidArgumentError(`${r.what('account_url')}: invalid URL ${JSON.stringify(accountUrl)}`)
  }
  const common = {
    type: 'azblob' as const,
    ...base,
    accountUrl,
    accountName: r.get('account_name') ?? (host.split('.')[0] as string),
    container: r.get('container') ?? 'buildkit-cache',
    prefix: r.attrs.prefix ?? '',
    blobsPrefix: r.attrs.blobs_prefix ?? 'blobs',
    manifestsPrefix: r.attrs.manifests_prefix ?? 'manifests',
    names: splitNames(r),
    secretAccessKey: r.get('secret_access_key'),
  }
  if (dir === 'import') return common
  return { ...common, ...r.exportOptions() }
}

function splitNames(r: AttrReader): string[] {
  const names = (r.get('name') ?? 'buildkit').split(';').filter((n) => n !== '')
  if (names.length === 0) throw new InvalidArgumentError(`${r.what('name')}: no name given`, { hint: 'e.g. name=main;pr-12' })
  return names
}

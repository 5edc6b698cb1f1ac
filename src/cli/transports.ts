import type { TransportFactory } from '../build/cache.ts'
import type { CacheTransport } from '../cache/remote/transport.ts'
import type { CacheExportSpec, CacheImportSpec } from '../cache/spec/types.ts'
import { NotImplementedError } from '../core/errors.ts'
import type { RegistryClient } from '../registry/index.ts'

type S3Spec = Extract<CacheExportSpec | CacheImportSpec, { type: 's3' }>
type AzSpec = Extract<CacheExportSpec | CacheImportSpec, { type: 'azblob' }>
type GhaSpec = Extract<CacheExportSpec | CacheImportSpec, { type: 'gha' }>

/**
 * Opens the transport for a cache spec. Backends are loaded on demand, so a build without remote
 * caches never loads the AWS or Azure SDKs.
 */
export function createTransportFactory(env: NodeJS.ProcessEnv, registry: RegistryClient): TransportFactory {
  return async (spec, direction): Promise<CacheTransport> => {
    switch (spec.type) {
      case 'local': {
        const { createLocalTransport } = await import('../cache/backends/local/index.ts')
        return createLocalTransport({ dir: 'dest' in spec ? spec.dest : spec.src, mode: direction })
      }
      case 'registry': {
        const { createRegistryTransport } = await import('../cache/backends/registry/transport.ts')
        return createRegistryTransport(registry, spec.ref)
      }
      case 's3': {
        const { createS3Transport } = await import('../cache/backends/s3/index.ts')
        return createS3Transport(s3Config(spec), { env })
      }
      case 'azblob': {
        const { createAzblobTransport } = await import('../cache/backends/azblob/index.ts')
        return createAzblobTransport(azConfig(spec), { env })
      }
      case 'gha': {
        const { createGhaTransport } = await import('../cache/backends/gha/index.ts')
        return createGhaTransport(ghaConfig(spec), { env })
      }
      default:
        throw new NotImplementedError(`cache backend type=${spec.type} is not available in this build of cairn yet`, {
          hint: 'use type=local, registry, gha, s3 or azblob',
        })
    }
  }
}

function s3Config(s: S3Spec) {
  return {
    bucket: s.bucket,
    region: s.region,
    prefix: s.prefix,
    blobs_prefix: s.blobsPrefix,
    manifests_prefix: s.manifestsPrefix,
    ...(s.endpointUrl ? { endpoint_url: s.endpointUrl } : {}),
    use_path_style: s.usePathStyle,
    ...(s.credentials
      ? {
          access_key_id: s.credentials.accessKeyId,
          secret_access_key: s.credentials.secretAccessKey,
          ...(s.credentials.sessionToken ? { session_token: s.credentials.sessionToken } : {}),
        }
      : {}),
    ...(s.retryMode ? { retry_mode: s.retryMode } : {}),
    ...(s.retryMaxAttempts !== undefined ? { retry_max_attempts: s.retryMaxAttempts } : {}),
    ...('uploadParallelism' in s ? { upload_parallelism: s.uploadParallelism, touch_refresh_ms: s.touchRefreshMs } : {}),
  }
}

function azConfig(s: AzSpec) {
  return {
    account_url: s.accountUrl,
    // Only a given name (attribute or $BUILDKIT_AZURE_STORAGE_ACCOUNT_NAME): the transport's own
    // default also handles path-style emulator URLs (`http://127.0.0.1:10000/devstoreaccount1`),
    // where the first DNS label of the host is not the account.
    ...(s.attrs.account_name ? { account_name: s.attrs.account_name } : {}),
    container: s.container,
    prefix: s.prefix,
    blobs_prefix: s.blobsPrefix,
    manifests_prefix: s.manifestsPrefix,
    ...(s.secretAccessKey ? { secret_access_key: s.secretAccessKey } : {}),
  }
}

/**
 * The spec module already applied buildx's env defaults and BuildKit's version selection
 * (`apiVersion`, `baseUrl`); hand the transport exactly that choice.
 */
function ghaConfig(s: GhaSpec) {
  return {
    scope: s.scope,
    token: s.token,
    version: s.apiVersion,
    ...(s.apiVersion === 2 ? { url_v2: s.baseUrl } : { url: s.baseUrl }),
    timeoutMs: s.timeoutMs,
  }
}

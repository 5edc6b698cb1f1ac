import type { TransportFactory } from '../build/cache.ts'
import type { CacheTransport } from '../cache/remote/transport.ts'
import type { CacheExportSpec, CacheImportSpec } from '../cache/spec/types.ts'
import { NotImplementedError } from '../core/errors.ts'
import type { RegistryClient } from '../registry/index.ts'

type S3Spec = Extract<CacheExportSpec | CacheImportSpec, { type: 's3' }>
type AzSpec = Extract<CacheExportSpec | CacheImportSpec, { type: 'azblob' }>

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
      default:
        throw new NotImplementedError(`cache backend type=${spec.type} is not available in this build of cairn yet`, {
          hint: 'use type=local, registry, s3 or azblob',
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
      ? { access_key_id: s.credentials.accessKeyId, secret_access_key: s.credentials.secretAccessKey, ...(s.credentials.sessionToken ? { session_token: s.credentials.sessionToken } : {}) }
      : {}),
    ...(s.retryMode ? { retry_mode: s.retryMode } : {}),
    ...(s.retryMaxAttempts !== undefined ? { retry_max_attempts: s.retryMaxAttempts } : {}),
    ...('uploadParallelism' in s ? { upload_parallelism: s.uploadParallelism, touch_refresh_ms: s.touchRefreshMs } : {}),
  }
}

function azConfig(s: AzSpec) {
  return {
    account_url: s.accountUrl,
    account_name: s.accountName,
    container: s.container,
    prefix: s.prefix,
    blobs_prefix: s.blobsPrefix,
    manifests_prefix: s.manifestsPrefix,
    ...(s.secretAccessKey ? { secret_access_key: s.secretAccessKey } : {}),
  }
}

import type { TransportFactory } from '../build/cache.ts'
import type { CacheTransport } from '../cache/remote/transport.ts'
import { NotImplementedError } from '../core/errors.ts'

/**
 * Opens the transport for a cache spec. Backends are loaded on demand, so a build without remote
 * caches never loads the AWS or Azure SDKs.
 */
export function createTransportFactory(env: NodeJS.ProcessEnv): TransportFactory {
  return async (spec, direction): Promise<CacheTransport> => {
    switch (spec.type) {
      case 'local': {
        const { createLocalTransport } = await import('../cache/backends/local/index.ts')
        return createLocalTransport({ dir: 'dest' in spec ? spec.dest : spec.src, mode: direction })
      }
      default:
        throw new NotImplementedError(`cache backend type=${spec.type} is not available in this build of cairn yet`, {
          hint: 'use type=local for now',
        })
    }
  }
}


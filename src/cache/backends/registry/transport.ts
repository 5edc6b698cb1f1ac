import type { Readable } from 'node:stream'
import type { Descriptor } from '../../../core/descriptor.ts'
import { type Digest, isDigest } from '../../../core/digest.ts'
import { InvalidArgumentError, isNotFound } from '../../../core/errors.ts'
import { readAllLimited } from '../../../core/streams.ts'
import { MediaType } from '../../../oci/media-types.ts'
import { formatImageRef, parseImageRef } from '../../../oci/reference.ts'
import type { RegistryClient } from '../../../registry/index.ts'
import type { CacheTransport, CallOpts, RemoteBlobInfo } from '../../remote/transport.ts'

const REF_ACCEPT = [MediaType.ociManifest, MediaType.ociIndex, MediaType.dockerManifest, MediaType.dockerManifestList]

/**
 * `type=registry`: the cache is an image-like artifact in a repository. Blobs are the repository's
 * blobs; a ref is a tag (or digest) whose manifest wraps the cache config (or an image whose
 * config carries an inline cache). Blobs pulled from another repository of the same registry are
 * mounted, not uploaded.
 */
export function createRegistryTransport(client: RegistryClient, ref: string): CacheTransport {
  const parsed = parseImageRef(ref)
  const repo = client.repo(parsed)
  const name = formatImageRef({ domain: parsed.domain, path: parsed.path })
  const tagOf = (n: string) => (isDigest(n) ? n : n.includes('@') ? (n.split('@')[1] as string) : (parseImageRef(n).tag ?? 'latest'))
  return {
    kind: 'registry',
    refForm: 'manifest',
    location: name,
    async statBlob(d: Digest, o: CallOpts = {}): Promise<RemoteBlobInfo | undefined> {
      const h = await repo.headBlob(d, o.signal ? { signal: o.signal } : {})
      return h ? { digest: d, size: h.size } : undefined
    },
    openBlob(desc: Pick<Descriptor, 'digest' | 'size'>, o: CallOpts = {}): Promise<Readable> {
      return repo.getBlob(desc, o.signal ? { signal: o.signal } : {})
    },
    async putBlob(desc, body, o: CallOpts = {}) {
      const from = (desc as Descriptor).annotations?.['io.cairn.source.repository']
      const [host, ...path] = (from ?? '').split('/')
      const signal = o.signal ? { signal: o.signal } : {}
      if (from && host === repo.registry && path.join('/') !== repo.repository) {
        await repo.mountBlob(desc, path.join('/'), { ...signal, body: async () => body() })
        return
      }
      await repo.putBlob(desc, async () => body(), signal)
    },
    async readRef(n: string, o: CallOpts = {}) {
      try {
        const m = await repo.getManifest(tagOf(n), REF_ACCEPT, o.signal ? { signal: o.signal } : {})
        return m.bytes
      } catch (err) {
        if (isNotFound(err)) return undefined
        throw err
      }
    },
    async writeRef(n: string, doc: Uint8Array, mediaType: string, o: CallOpts = {}) {
      try {
        await repo.putManifest(tagOf(n), doc, mediaType, o.signal ? { signal: o.signal } : {})
      } catch (err) {
        if ((err as { code?: string }).code === 'ERR_REGISTRY_MANIFEST_INVALID') {
          const fix =
            mediaType === MediaType.ociManifest
              ? 'this registry refused the cache as an OCI image manifest: try image-manifest=false (an OCI index), or image-manifest=false,oci-mediatypes=false (a Docker manifest list)'
              : 'this registry refused the cache index: try image-manifest=true (ECR and most current registries accept it), or oci-mediatypes=false'
          throw new InvalidArgumentError(`cache ${name}:${tagOf(n)}: ${(err as Error).message}`, { code: 'ERR_CACHE_MANIFEST_REFUSED', hint: fix, cause: err })
        }
        throw err
      }
    },
  }
}

/** Reads an image config blob (inline cache import). */
export async function readConfigBlob(t: CacheTransport, desc: Descriptor, signal: AbortSignal): Promise<Buffer> {
  return readAllLimited(await t.openBlob(desc, { signal }), 4 << 20, `image config ${desc.digest}`)
}

import type { Descriptor, Platform } from '../core/descriptor.ts'
import { FailedPreconditionError, NotFoundError } from '../core/errors.ts'
import { readAllLimited } from '../core/streams.ts'
import { isIndexType } from '../oci/media-types.ts'
import { formatPlatform, platformMatches } from '../oci/platform.ts'
import { formatImageRef, type ImageRef } from '../oci/reference.ts'
import type { ImageConfig, ImageIndex, ImageManifest } from '../oci/types.ts'
import type { RegistryClient } from '../registry/index.ts'
import type { BlobSource } from '../snapshot/layer-store.ts'
import type { ResolvedImage } from './image-resolver.ts'

/** The annotation cairn keeps on layer blobs pulled from a registry: where they came from (for cross-repo mounts on push). */
export const SOURCE_ANNOTATION = 'io.cairn.source.repository'

/**
 * Resolves a registry image to the native platform's manifest: the tag (or digest) → manifest or
 * index → platform manifest → config. Layer blobs are not pulled here; the returned blob source
 * streams them (digest-verified) when a step needs them.
 */
export async function resolveRegistryImage(client: RegistryClient, ref: ImageRef, platform: Platform, signal: AbortSignal): Promise<ResolvedImage> {
  const repo = client.repo(ref)
  const name = formatImageRef(ref)
  const top = await repo.getManifest(ref.digest ?? ref.tag ?? 'latest', undefined, { signal })
  let manifest = JSON.parse(Buffer.from(top.bytes).toString('utf8')) as ImageManifest & ImageIndex
  if (isIndexType(manifest.mediaType ?? top.mediaType) || manifest.manifests) {
    const match = manifest.manifests.find((m) => platformMatches(platform, m.platform))
    if (!match) {
      const have = manifest.manifests.map((m) => (m.platform ? formatPlatform(m.platform) : 'unknown')).join(', ')
      throw new NotFoundError(`image ${name}: no manifest for ${formatPlatform(platform)} (has: ${have || 'none'})`, { code: 'ERR_IMAGE_PLATFORM' })
    }
    const child = await repo.getManifest(match.digest, undefined, { signal })
    manifest = JSON.parse(Buffer.from(child.bytes).toString('utf8')) as ImageManifest & ImageIndex
  }
  if (!manifest.config) throw new FailedPreconditionError(`image ${name}: the manifest has no config`, { code: 'ERR_IMAGE_MEDIA_TYPE' })
  const cfgStream = await repo.getBlob(manifest.config, { signal })
  const config = JSON.parse((await readAllLimited(cfgStream, 4 << 20, `image ${name} config`)).toString('utf8')) as ImageConfig
  const source = `${repo.registry}/${repo.repository}`
  manifest = { ...manifest, layers: manifest.layers.map((l) => ({ ...l, annotations: { ...(l.annotations ?? {}), [SOURCE_ANNOTATION]: source } })) }
  const has = (desc: Pick<Descriptor, 'digest' | 'annotations'>) =>
    desc.annotations?.[SOURCE_ANNOTATION] === source || manifest.layers.some((l) => l.digest === desc.digest)
  const blobSource: BlobSource = { remote: true, has, open: async (desc, sig) => (has(desc) ? repo.getBlob(desc, { signal: sig }) : undefined) }
  return { ref: name, digest: top.digest, manifest, config, blobSource }
}

import type { Descriptor } from '../core/descriptor.ts'
import { NotFoundError } from '../core/errors.ts'
import { parseImageRef } from '../oci/reference.ts'
import { SOURCE_ANNOTATION } from '../ops/registry-image.ts'
import type { RegistryClient } from '../registry/index.ts'
import type { LayerStore } from '../snapshot/layer-store.ts'
import type { BlobProvider } from '../content/blob-store.ts'

export interface PushImage {
  manifest: { bytes: Uint8Array; mediaType: string }
  config: Descriptor
  /** Layer descriptors as listed in the manifest, plus where each came from (if pulled). */
  layers: readonly (Descriptor & { sourceRepository?: string })[]
}

export interface PushStats {
  uploaded: number
  mounted: number
  present: number
}

/**
 * Pushes an image under each name: every blob the repository lacks is mounted from the repository
 * it was pulled from (same registry) or uploaded, and the manifest is written last, so a tag never
 * names a missing blob. A blob already present is neither uploaded nor mounted.
 */
export async function pushImage(
  client: RegistryClient,
  names: readonly string[],
  img: PushImage,
  d: { layers: LayerStore; blobs: BlobProvider; signal: AbortSignal },
): Promise<PushStats> {
  const stats: PushStats = { uploaded: 0, mounted: 0, present: 0 }
  for (const name of names) {
    const ref = parseImageRef(name)
    const repo = client.repo(ref)
    for (const layer of [...img.layers, img.config]) {
      if (await repo.headBlob(layer.digest, { signal: d.signal })) {
        stats.present++
        continue
      }
      const open = async () => {
        const local = (await d.blobs.stat(layer.digest)) ? await d.blobs.open(layer, { signal: d.signal }) : await d.layers.openBlob(layer, d.signal)
        if (!local) throw new NotFoundError(`push ${name}: blob ${layer.digest} is not available locally`, { code: 'ERR_PUSH_BLOB_MISSING' })
        return local
      }
      const from: string | undefined = (layer as { sourceRepository?: string }).sourceRepository
      const [host, ...path] = (from ?? '').split('/')
      if (from && host === repo.registry && path.join('/') !== repo.repository) {
        const how = await repo.mountBlob(layer, path.join('/'), { signal: d.signal, body: open })
        if (how === 'mounted') stats.mounted++
        else stats.uploaded++
        continue
      }
      await repo.putBlob(layer, open, { signal: d.signal })
      stats.uploaded++
    }
    await repo.putManifest(ref.tag ?? 'latest', img.manifest.bytes, img.manifest.mediaType, { signal: d.signal })
  }
  return stats
}

/** The repository a layer blob was pulled from, if cairn recorded it. */
export function sourceRepositoryOf(desc: Descriptor): string | undefined {
  return desc.annotations?.[SOURCE_ANNOTATION]
}

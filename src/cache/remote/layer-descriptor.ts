import type { Descriptor } from '../../core/descriptor.ts'
import type { LayerStore } from '../../snapshot/layer-store.ts'
import { ANNOTATION_CREATED_AT, ANNOTATION_UNCOMPRESSED } from '../format/index.ts'

/** A layer's creation time in Go's RFC 3339 form (no fractional zeros), as BuildKit writes it. */
export async function layerTime(layers: LayerStore, id: string): Promise<string> {
  return new Date((await layers.must(id)).createdAt * 1000).toISOString().replace('.000Z', 'Z')
}

/** A layer blob descriptor as a cache exports it: media type, digest, size, diffID and creation time. */
export async function annotatedLayer(layers: LayerStore, id: string, desc: Descriptor, signal: AbortSignal): Promise<Descriptor> {
  return {
    mediaType: desc.mediaType,
    digest: desc.digest,
    size: desc.size,
    annotations: { [ANNOTATION_UNCOMPRESSED]: await layers.diffID(id, signal), [ANNOTATION_CREATED_AT]: await layerTime(layers, id) },
  }
}

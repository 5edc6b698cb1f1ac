import type { Descriptor } from '../core/descriptor.ts'
import type { Digest } from '../core/digest.ts'
import type { PendingHistory } from '../dockerfile/convert/history.ts'
import { MediaType } from '../oci/media-types.ts'
import type { HistoryEntry, ImageConfig, ImageManifest } from '../oci/types.ts'
import type { BuildRef } from '../ops/build-ref.ts'
import type { BlobPlan, LayerStore } from '../snapshot/layer-store.ts'
import type { Vertex } from '../solver/types.ts'

const iso = (sec: number): string => new Date(sec * 1000).toISOString().replace('.000Z', 'Z')

export interface FinalImage {
  config: ImageConfig
  /** Layer-store ids, bottom to top. */
  layerIds: string[]
}

/**
 * Completes the image config once the graph is solved: diffIDs of every layer, history with
 * `empty_layer` where an op changed nothing, and `created` times taken from the layers (so a
 * fully cached rebuild gives the same config digest). `epoch` (SOURCE_DATE_EPOCH) clamps times.
 */
export async function finalizeImage(
  base: ImageConfig,
  layerIds: readonly string[],
  history: { base: HistoryEntry[]; pending: PendingHistory[] },
  /** The layers of a vertex's result; undefined when it never had to run (a later step was a cache hit). */
  refOf: (v: Vertex<BuildRef> | undefined) => Promise<readonly string[] | undefined>,
  layers: LayerStore,
  signal: AbortSignal,
  epoch?: number,
  /** A cache export's blob plan: a layer whose diffID is unknown is packed into that blob, which the export then finds. */
  packAs?: BlobPlan,
): Promise<FinalImage> {
  const diffIDs: Digest[] = []
  for (const id of layerIds) diffIDs.push(await layers.diffID(id, signal, packAs))
  const clamp = (t: number) => (epoch !== undefined ? Math.min(t, epoch) : t)
  const entries: HistoryEntry[] = history.base.map((h) => ({ ...h }))
  let last = entries.length > 0 ? Date.parse(entries[entries.length - 1]?.created ?? '') / 1000 || 0 : 0
  // Layers of this image not yet claimed by a history entry: an op whose result is unknown (it
  // never ran because a later step hit the cache) takes the next one, in order.
  const baseLayers = entries.filter((h) => !h.empty_layer).length
  let next = Math.min(baseLayers, layerIds.length)
  for (const p of history.pending) {
    let empty = true
    if (p.vertex) {
      const after = await refOf(p.vertex)
      const before = await refOf(p.input)
      const added = after !== undefined && before !== undefined ? after.length > before.length : next < layerIds.length
      if (added && next < layerIds.length) {
        empty = false
        const rec = await layers.must(layerIds[next] as string)
        next++
        last = clamp(rec.createdAt)
      }
    }
    const e: HistoryEntry = { created: iso(clamp(last)), created_by: p.createdBy, comment: p.comment ?? 'buildkit.dockerfile.v0' }
    if (empty) e.empty_layer = true
    entries.push(e)
  }
  const config: ImageConfig = {
    ...base,
    created: iso(clamp(last)),
    rootfs: { type: 'layers', diff_ids: diffIDs },
    history: entries,
  }
  // Key order as Docker writes it: architecture, config, created, history, os, rootfs, variant.
  const ordered: ImageConfig = {
    architecture: config.architecture,
    config: config.config ?? {},
    created: config.created as string,
    history: entries,
    os: config.os,
    rootfs: config.rootfs,
    ...(config.variant ? { variant: config.variant } : {}),
  }
  return { config: ordered, layerIds: [...layerIds] }
}

export function buildManifest(config: Descriptor, layers: readonly Descriptor[], docker = false): ImageManifest {
  return {
    schemaVersion: 2,
    mediaType: docker ? MediaType.dockerManifest : MediaType.ociManifest,
    config,
    layers: [...layers],
  }
}

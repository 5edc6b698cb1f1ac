import { type Digest, sha256 } from '../core/digest.ts'
import type { LayerStore } from '../snapshot/layer-store.ts'
import type { CacheMap, Op } from '../solver/types.ts'
import type { BuildRef, ContextRef } from './build-ref.ts'
import { goJSON } from './go-json.ts'
import type { ResolvedImage } from './image-resolver.ts'

/** OCI chain ID of a list of diffIDs (image-spec identity). */
export function chainID(diffIDs: readonly Digest[]): Digest | undefined {
  let chain: Digest | undefined
  for (const d of diffIDs) chain = chain ? sha256(`${chain} ${d}`) : d
  return chain
}

/**
 * BuildKit's image source keys (source/containerimage/pull.go): index 0 from the resolved digest
 * and platform, index 1 from the config's chain ID. cairn links through the chain-ID key, which
 * holds whichever manifest (compressed or not, index or not) reached the same layers.
 */
export function imageSourceKeys(img: ResolvedImage): { manifestKey: Digest; configKey: Digest } {
  const p: Record<string, unknown> = { Digest: img.digest, OS: img.config.os, Arch: img.config.architecture }
  if (img.config.variant) p.Variant = img.config.variant
  const manifestKey = sha256(goJSON(p))
  const chain = chainID(img.config.rootfs?.diff_ids ?? [])
  const configKey = chain ?? manifestKey
  return { manifestKey, configKey }
}

const sourceDigest = (key: string): Digest => sha256(`buildkit.source.v0:${key}`)

/** FROM an image: its result is the image's layer chain (extracted only when something needs it). */
export class ImageSourceOp implements Op<BuildRef> {
  readonly image: ResolvedImage
  #layers: LayerStore
  constructor(image: ResolvedImage, layers: LayerStore) {
    this.image = image
    this.#layers = layers
  }

  async cacheMap(): Promise<CacheMap<BuildRef>> {
    return { digest: sourceDigest(imageSourceKeys(this.image).configKey), deps: [] }
  }

  async exec(): Promise<BuildRef> {
    const { manifest, config, blobSource } = this.image
    if (blobSource && !this.#layers.sources.includes(blobSource)) this.#layers.sources.push(blobSource)
    const diffIDs = config.rootfs?.diff_ids ?? []
    const history = (config.history ?? []).filter((h) => !h.empty_layer)
    const created = Math.floor(Date.parse(config.created ?? '1970-01-01T00:00:00Z') / 1000) || 0
    const ids: string[] = []
    for (const [i, desc] of manifest.layers.entries()) {
      const diffID = diffIDs[i]
      if (!diffID) continue
      const h = history[i]
      const at = h?.created ? Math.floor(Date.parse(h.created) / 1000) || created : created
      const blob = { mediaType: desc.mediaType, digest: desc.digest, size: desc.size, ...(desc.annotations ? { annotations: desc.annotations } : {}) }
      const rec = await this.#layers.adopt(diffID, blob, at, h?.created_by, { onlyIfLocal: !blobSource })
      ids.push(rec.id)
    }
    return { kind: 'layers', layers: ids }
  }
}

/** The build context: a host directory. It has no key of its own; ops that read it key on content checksums. */
export class ContextSourceOp implements Op<BuildRef> {
  readonly ref: ContextRef
  constructor(ref: ContextRef) {
    this.ref = ref
  }
  async cacheMap(): Promise<undefined> {
    return undefined
  }
  async exec(): Promise<BuildRef> {
    return this.ref
  }
}

/**
 * The inline form (cache/remotecache/inline): only the `records` array, base64 in the image
 * config key `moby.buildkit.cache.v0`. The implicit layer list is the image manifest's layers
 * (entry k: blob layers[k], parent k-1), so `"layer": k` means image layers 0..k; a result that is
 * not a prefix of the image layers is written as `chains`. Result times are Go's zero time, as the
 * BuildKit exporter writes them.
 */
import type { Descriptor } from '../../core/descriptor.ts'
import { type Digest, isDigest } from '../../core/digest.ts'
import { canonicalize } from './canonical.ts'
import { graphFromWire, parseRecords } from './decode.ts'
import { compareRecords, wireInputs } from './encode.ts'
import { arrayField, asObject, field, formatError, goJson, isObject, type JsonObject, parseJson } from './json.ts'
import { ANNOTATION_CREATED_AT, ANNOTATION_DESCRIPTION, ANNOTATION_UNCOMPRESSED, INLINE_CACHE_KEY, ZERO_TIME } from './media.ts'
import type { CacheGraph, WireLayer, WireRecord } from './types.ts'

/**
 * Encodes the records of `graph` for embedding in an image whose manifest lists `imageLayers`.
 * Results with a blob outside the image are dropped; undefined when no result survives (then
 * nothing is embedded). The returned string is the value of `moby.buildkit.cache.v0`.
 */
export function encodeInlineCache(graph: CacheGraph, imageLayers: readonly Descriptor[]): string | undefined {
  const { records } = canonicalize(graph)
  const indexOf = (d: Descriptor): number => {
    const byDigest = imageLayers.findIndex((l) => l.digest === d.digest)
    if (byDigest >= 0) return byDigest
    const diffID = d.annotations?.[ANNOTATION_UNCOMPRESSED]
    return diffID === undefined ? -1 : imageLayers.findIndex((l) => l.digest === diffID)
  }
  const sorted = [...records].sort(compareRecords)
  const recordIndex = new Map(sorted.map((r, i) => [r, i]))
  let kept = 0
  const wire = sorted.map((r) => {
    const w: Partial<WireRecord> = {}
    const idx = r.best?.chain.map(indexOf)
    if (idx && !idx.includes(-1)) {
      kept++
      if (idx.every((k, i) => k === i)) w.layers = [{ layer: idx.length - 1, createdAt: ZERO_TIME }]
      else w.chains = [{ layers: idx, createdAt: ZERO_TIME }]
    }
    w.digest = r.digest
    if (r.inputs.length > 0) w.inputs = wireInputs(r, recordIndex)
    return w as WireRecord
  })
  if (kept === 0) return undefined
  return Buffer.from(goJson(wire), 'utf8').toString('base64')
}

export type InlineDecodeResult = { ok: true; graph: CacheGraph; layers: Descriptor[] } | { ok: false; reason: string }

const B64_RE = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/

/**
 * Decodes the inline cache of an image (its config JSON and its manifest's layers). `ok: false`
 * with a reason when the image carries no usable inline cache (no key, diff_ids/layers mismatch);
 * a corrupt key throws FailedPreconditionError.
 */
export function decodeInlineCache(imageConfig: Uint8Array | JsonObject, manifestLayers: readonly Descriptor[]): InlineDecodeResult {
  const what = 'inline cache'
  const cfg = imageConfig instanceof Uint8Array ? asObject(parseJson(imageConfig, 'image config'), 'image config') : imageConfig
  const rootfs = field(cfg, 'rootfs')
  const diffIDs = isObject(rootfs) ? arrayField(rootfs, 'diff_ids', 'image config rootfs') : []
  if (diffIDs.length !== manifestLayers.length) {
    return { ok: false, reason: `image config has ${diffIDs.length} diff_ids but the manifest has ${manifestLayers.length} layers` }
  }
  const raw = field(cfg, INLINE_CACHE_KEY)
  if (raw === undefined || raw === null || raw === '') return { ok: false, reason: `image config has no ${INLINE_CACHE_KEY} key` }
  if (typeof raw !== 'string' || !B64_RE.test(raw)) throw formatError(`${what} ${INLINE_CACHE_KEY}`, 'expected a standard base64 string')
  const records = parseRecords(parseJson(Buffer.from(raw, 'base64'), what), `${what} records`)

  const dates: string[] = []
  const createdBy: string[] = []
  for (const h of arrayField(cfg, 'history', 'image config')) {
    if (!isObject(h) || field(h, 'empty_layer') === true) continue
    const c = field(h, 'created')
    const b = field(h, 'created_by')
    dates.push(typeof c === 'string' ? c : '')
    createdBy.push(typeof b === 'string' ? b : '')
  }
  const layers = manifestLayers.map((l, i): Descriptor => {
    const diffID = diffIDs[i]
    if (!isDigest(diffID)) throw formatError(`image config rootfs.diff_ids[${i}]`, `invalid digest ${JSON.stringify(diffID)}`)
    const annotations: Record<string, string> = { ...l.annotations, [ANNOTATION_UNCOMPRESSED]: diffID }
    if (dates[i]) annotations[ANNOTATION_CREATED_AT] = dates[i] as string
    if (createdBy[i]) annotations[ANNOTATION_DESCRIPTION] = createdBy[i] as string
    return { ...l, annotations }
  })
  const wireLayers: WireLayer[] = layers.map((l, k) => ({ blob: l.digest, parent: k - 1 }))
  const provider = new Map<Digest, Descriptor>()
  for (const l of layers) if (!provider.has(l.digest)) provider.set(l.digest, l)
  return { ok: true, graph: graphFromWire({ layers: wireLayers, records }, provider, what), layers }
}

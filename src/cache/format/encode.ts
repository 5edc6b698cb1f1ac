/**
 * Deterministic encoding of a CacheGraph into the cache config (cache/remotecache/v1 Marshal +
 * sortConfig): one best result per record, layer entries shared by identical chains (so a blob can
 * appear more than once, on different parent chains), layers sorted by blob then parent chain,
 * records by digest then inputs, all indexes remapped, `parent: 0` and empty fields omitted.
 * The same graph always yields the same bytes, whatever the order records were added in.
 */
import type { Descriptor } from '../../core/descriptor.ts'
import { type Digest, sha256 } from '../../core/digest.ts'
import { type CanonRecord, canonicalize, chainId } from './canonical.ts'
import { goJson, sortedMap } from './json.ts'
import { ANNOTATION_CREATED_AT, ANNOTATION_UNCOMPRESSED, CACHE_CONFIG_MEDIA_TYPE, convertLayerMediaType, ZERO_TIME } from './media.ts'
import { normalizeTime } from './time.ts'
import type { CacheGraph, WireCacheConfig, WireInput, WireLayer, WireLayerAnnotations, WireRecord } from './types.ts'

export interface EncodedCacheConfig {
  /** The config JSON bytes (what the config blob or the object-store document holds). */
  config: Uint8Array
  /** `{mediaType: application/vnd.buildkit.cacheconfig.v0, digest, size}` of `config`. */
  configDescriptor: Descriptor
  /**
   * The layer blobs the config names, one per digest, in config order, with OCI media types and the
   * `containerd.io/uncompressed` / `buildkit/createdat` annotations. Empty means: nothing to export
   * (registry and local then write nothing, as BuildKit does).
   */
  layers: Descriptor[]
}

const cmp = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0)

interface LayerEntry {
  id: string
  blob: Digest
  parentId: string | undefined
}

/** Builds the wire config; `annotate` adds `layers[].annotations` (object-store form). */
export function buildWireConfig(graph: CacheGraph, o: { annotate: boolean }): { wire: WireCacheConfig; layers: Descriptor[] } {
  const { records, blobs } = canonicalize(graph)

  // Layer entries, bottom-up, one per distinct chain prefix.
  const entries = new Map<string, LayerEntry>()
  const topOf = new Map<CanonRecord, string>()
  for (const r of records) {
    if (!r.best) continue
    let parentId: string | undefined
    r.best.chain.forEach((d, k) => {
      const id = chainId(r.best?.chain.slice(0, k + 1) ?? [])
      if (!entries.has(id)) entries.set(id, { id, blob: d.digest, parentId })
      parentId = id
    })
    topOf.set(r, parentId as string)
  }
  const sortedLayers = [...entries.values()].sort((a, b) => cmp(a.blob, b.blob) || cmp(a.parentId ?? '', b.parentId ?? ''))
  const layerIndex = new Map(sortedLayers.map((e, i) => [e.id, i]))

  // Records: digest, #inputs, per input length, then selector and linked digest per element; the
  // structural identity breaks the remaining ties so the order is total.
  const sortedRecords = [...records].sort((a, b) => compareRecords(a, b))
  const recordIndex = new Map(sortedRecords.map((r, i) => [r, i]))

  const wireLayers: WireLayer[] = sortedLayers.map((e) => {
    const parent = e.parentId === undefined ? -1 : (layerIndex.get(e.parentId) as number)
    const l: WireLayer = { blob: e.blob }
    if (parent !== 0) l.parent = parent
    if (o.annotate) l.annotations = layerAnnotations(blobs.get(e.blob) as Descriptor)
    return l
  })
  const wireRecords: WireRecord[] = sortedRecords.map((r) => {
    const w: Partial<WireRecord> = {}
    const top = topOf.get(r)
    if (r.best && top !== undefined) w.layers = [{ layer: layerIndex.get(top) as number, createdAt: r.best.createdAt }]
    w.digest = r.digest
    if (r.inputs.length > 0) w.inputs = wireInputs(r, recordIndex)
    return w as WireRecord
  })

  const wire: WireCacheConfig = {}
  if (wireLayers.length > 0) wire.layers = wireLayers
  if (wireRecords.length > 0) wire.records = wireRecords
  const seen = new Set<Digest>()
  const layers: Descriptor[] = []
  for (const e of sortedLayers) {
    if (seen.has(e.blob)) continue
    seen.add(e.blob)
    layers.push(normalizeDescriptor(blobs.get(e.blob) as Descriptor))
  }
  return { wire, layers }
}

/** Wire inputs of a record: each OR-list sorted by link index (then selector), empty selectors omitted. */
export function wireInputs(r: CanonRecord, recordIndex: ReadonlyMap<CanonRecord, number>): WireInput[][] {
  return r.inputs.map((list) =>
    list
      .map((p): WireInput => (p.selector ? { selector: p.selector, link: recordIndex.get(p.record) as number } : { link: recordIndex.get(p.record) as number }))
      .sort((a, b) => a.link - b.link || cmp(a.selector ?? '', b.selector ?? '')),
  )
}

/** sortConfig's record order, made total by the structural identity. */
export function compareRecords(a: CanonRecord, b: CanonRecord): number {
  if (a.digest !== b.digest) return cmp(a.digest, b.digest)
  if (a.inputs.length !== b.inputs.length) return a.inputs.length - b.inputs.length
  for (let i = 0; i < a.inputs.length; i++) {
    const la = a.inputs[i] ?? []
    const lb = b.inputs[i] ?? []
    if (la.length !== lb.length) return la.length - lb.length
    for (let j = 0; j < la.length; j++) {
      const x = la[j]
      const y = lb[j]
      if (!x || !y) continue
      if (x.selector !== y.selector) return cmp(x.selector, y.selector)
      if (x.record.digest !== y.record.digest) return cmp(x.record.digest, y.record.digest)
    }
  }
  return cmp(a.sid, b.sid)
}

/** The descriptor as exported: OCI media type, only string annotations, keys sorted. */
function normalizeDescriptor(d: Descriptor): Descriptor {
  const out: Descriptor = { mediaType: convertLayerMediaType(d.mediaType, true), digest: d.digest, size: d.size }
  if (d.annotations && Object.keys(d.annotations).length > 0) out.annotations = sortedMap(d.annotations)
  return out
}

function layerAnnotations(d: Descriptor): WireLayerAnnotations {
  const created = d.annotations?.[ANNOTATION_CREATED_AT]
  return {
    mediaType: convertLayerMediaType(d.mediaType, true),
    diffID: d.annotations?.[ANNOTATION_UNCOMPRESSED] as Digest,
    size: d.size,
    createdAt: created ? normalizeTime(created, `layer ${d.digest} ${ANNOTATION_CREATED_AT}`, { utc: true, strict: false }) : ZERO_TIME,
  }
}

/** Serialises a wire config exactly as Go would (field order, no whitespace). */
export function serializeWireConfig(wire: WireCacheConfig): Uint8Array {
  return Buffer.from(goJson(wire), 'utf8')
}

/**
 * Encodes a graph as the cache config of the registry/local forms (no `layers[].annotations`; the
 * layer metadata travels in the wrapper's descriptors, see wrapManifest).
 */
export function encodeCacheConfig(graph: CacheGraph): EncodedCacheConfig {
  const { wire, layers } = buildWireConfig(graph, { annotate: false })
  const config = serializeWireConfig(wire)
  return { config, configDescriptor: { mediaType: CACHE_CONFIG_MEDIA_TYPE, digest: sha256(config), size: config.length }, layers }
}

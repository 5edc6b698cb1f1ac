import { Readable } from 'node:stream'
import { mapLimit, semaphore } from '../../core/concurrency.ts'
import type { Descriptor } from '../../core/descriptor.ts'
import type { Digest } from '../../core/digest.ts'
import { NotFoundError } from '../../core/errors.ts'
import type { BlobPlan, LayerStore } from '../../snapshot/layer-store.ts'
import {
  CACHE_CONFIG_MEDIA_TYPE,
  type CacheGraphBuilder,
  type GraphResult,
  encodeCacheConfig,
  encodeConfigDocument,
  type WrapOptions,
  wrapManifest,
} from '../format/index.ts'
import { buildCacheGraph, type ExportStep } from './build-graph.ts'
import { readCacheRef } from './read-ref.ts'
import { annotatedLayer, layerTime } from './layer-descriptor.ts'
import { mergeGraphInto } from './merge.ts'
import type { CacheTransport } from './transport.ts'

export interface CacheExportOptions {
  mode: 'min' | 'max'
  /** The layers' compression, level, and whether to recompress layers that exist in another one (else reused as they are). */
  blobs: BlobPlan
  /** The refs to write (a tag for local/registry, names for s3/azblob, the scope key for gha). */
  refs: readonly string[]
  /** Wrapper form for manifest-style refs (registry, local). */
  wrap?: WrapOptions
  /** Keep what the refs already hold (records of other builds sharing the cache) instead of replacing it. */
  merge: boolean
  /** Results older than this (ms) are not carried over by a merge. */
  mergeMaxAgeMs?: number
  concurrency?: number
  now: Date
}

export interface CacheExportDeps {
  layers: LayerStore
  signal: AbortSignal
}

export interface CacheExportResult {
  /** Blobs uploaded by this export, and blobs the destination had already. */
  uploaded: number
  present: number
  uploadedBytes: number
  records: number
  layers: number
}

/**
 * The generic cache exporter, written once for every backend: builds BuildKit's cache graph from
 * the build's steps, makes each layer's blob in the requested compression (reusing existing ones),
 * uploads the blobs the destination lacks (touching the ones it has), and only then writes the
 * refs — so a ref never names a missing blob and an interrupted export leaves the old ref intact.
 */
export async function exportCache(
  steps: readonly ExportStep[],
  finals: readonly string[],
  transport: CacheTransport,
  o: CacheExportOptions,
  d: CacheExportDeps,
): Promise<CacheExportResult> {
  const { signal } = d
  // what the destination holds, asked once per blob (merging and uploading both need it)
  const stats = new Map<string, ReturnType<CacheTransport['statBlob']>>()
  const statBlob = (digest: Digest) => {
    let p = stats.get(digest)
    if (!p) {
      p = transport.statBlob(digest, { signal })
      stats.set(digest, p)
    }
    return p
  }
  const counts = { uploaded: 0, present: 0, uploadedBytes: 0 }
  // Each layer's blob goes to the destination as soon as it is packed, while the graph waits for
  // the others (the last layer a build made is usually still being packed); at most `concurrency`
  // at a time. Only the refs wait for every blob.
  const limit = semaphore(o.concurrency ?? 4)
  const placed = new Map<string, Promise<void>>()
  const place = (desc: Descriptor): Promise<void> => {
    let p = placed.get(desc.digest)
    if (!p) {
      p = limit(() => placeBlob(desc, transport, d, statBlob, counts))
      p.catch(() => undefined) // awaited once the graph is built; a failure before that must not go unobserved
      placed.set(desc.digest, p)
    }
    return p
  }
  /** Waits for every placement started, then fails with the first failure (as mapLimit does). */
  const settle = async (descs: Iterable<Promise<void>>) => {
    const failed = (await Promise.allSettled(descs)).find((r) => r.status === 'rejected')
    if (failed) throw failed.reason
  }
  const { builder } = await buildCacheGraph(steps, {
    mode: o.mode,
    finals,
    layerBlob: async (id) => {
      const desc = await annotatedLayer(d.layers, id, await d.layers.exportBlob(id, o.blobs, signal), signal)
      void place(desc)
      return desc
    },
    createdAt: (id) => layerTime(d.layers, id),
  }).catch(async (err: unknown) => {
    await Promise.allSettled(placed.values())
    throw err
  })
  if (o.merge) await mergeExisting(builder, transport, o, d, statBlob)

  const graph = builder.graph()
  const encoded = transport.refForm === 'manifest' ? encodeCacheConfig(graph) : encodeConfigDocument(graph)
  if (encoded.layers.length === 0) {
    // nothing to export (BuildKit writes nothing either); no layer was placed either: none is in the graph
    return { uploaded: 0, present: 0, uploadedBytes: 0, records: graph.records.length, layers: 0 }
  }
  await settle(encoded.layers.map(place))
  const result: CacheExportResult = { ...counts, records: graph.records.length, layers: encoded.layers.length }

  if (transport.refForm === 'config') {
    for (const ref of o.refs) await transport.writeRef(ref, encoded.config, CACHE_CONFIG_MEDIA_TYPE, { signal })
    return result
  }
  const configDesc: Descriptor = encoded.configDescriptor
  if (!(await transport.statBlob(configDesc.digest, { signal }))) {
    await transport.putBlob(configDesc, () => bufferStream(encoded.config), { signal })
  }
  const manifest = wrapManifest(configDesc, encoded.layers, o.wrap ?? {})
  for (const ref of o.refs) await transport.writeRef(ref, manifest.bytes, manifest.mediaType, { signal })
  return result
}

/**
 * Merges what the refs already hold (results younger than mergeMaxAgeMs). A result naming a blob
 * that is neither at the destination nor here (evicted from a GitHub cache, deleted from a bucket)
 * is dropped: it could not be exported, and a ref must never name a missing blob.
 */
async function mergeExisting(
  builder: CacheGraphBuilder,
  transport: CacheTransport,
  o: CacheExportOptions,
  d: CacheExportDeps,
  statBlob: (digest: Digest) => ReturnType<CacheTransport['statBlob']>,
): Promise<void> {
  const { signal } = d
  const oldest = o.now.getTime() - (o.mergeMaxAgeMs ?? 7 * 24 * 3600 * 1000)
  const young = (r: GraphResult) => Date.parse(r.createdAt) >= oldest
  for (const ref of o.refs) {
    const existing = await readCacheRef(transport, ref, signal).catch(() => undefined)
    if (!existing) continue
    const blobs = new Set(existing.graph.records.flatMap((r) => r.results.filter(young).flatMap((res) => res.chain.map((l) => l.blob.digest))))
    const gone = new Set<string>()
    await mapLimit([...blobs], o.concurrency ?? 4, async (digest) => {
      if (await statBlob(digest as Digest).catch(() => undefined)) return
      if (!(await d.layers.localBlobPath({ digest }))) gone.add(digest)
    })
    mergeGraphInto(builder, existing.graph, (r) => young(r) && r.chain.every((l) => !gone.has(l.blob.digest)))
  }
}

/** Puts one layer blob at the destination unless it is there already (then only touches it). */
async function placeBlob(
  desc: Descriptor,
  transport: CacheTransport,
  d: CacheExportDeps,
  statBlob: (digest: Digest) => ReturnType<CacheTransport['statBlob']>,
  counts: { uploaded: number; present: number; uploadedBytes: number },
): Promise<void> {
  const { signal } = d
  const have = await statBlob(desc.digest)
  if (have && have.size === desc.size) {
    counts.present++
    await transport.touchBlob?.(desc.digest, { signal })
    return
  }
  const local = transport.putBlobFile ? await d.layers.localBlobPath(desc) : undefined
  if (local && transport.putBlobFile) await transport.putBlobFile(desc, local, { signal })
  else await transport.putBlob(desc, () => openLayerBlob(d.layers, desc, signal), { signal })
  counts.uploaded++
  counts.uploadedBytes += desc.size
}

async function openLayerBlob(layers: LayerStore, desc: Descriptor, signal: AbortSignal) {
  const s = await layers.openBlob(desc, signal)
  if (!s) throw new NotFoundError(`layer blob ${desc.digest} is neither in the local store nor in any imported cache`, { code: 'ERR_CACHE_BLOB_MISSING' })
  return s
}

async function bufferStream(b: Uint8Array) {
  return Readable.from([Buffer.from(b)])
}

import type { Readable } from 'node:stream'
import { pipeline } from 'node:stream/promises'
import type { Descriptor } from '../../core/descriptor.ts'
import type { Digest } from '../../core/digest.ts'
import { verifyingStream } from '../../core/streams.ts'
import type { BuildRef } from '../../ops/build-ref.ts'
import type { CacheSource } from '../../ops/local-cache.ts'
import type { LayerStore } from '../../snapshot/layer-store.ts'
import { keyFromRecord } from '../../solver/cache-key.ts'
import { ANNOTATION_CREATED_AT, ANNOTATION_UNCOMPRESSED, type CacheGraph, type GraphRecord, type GraphResult } from '../format/index.ts'
import type { CacheTransport } from './transport.ts'

/** At most this many alternative keys per record (combinations of OR-links). */
const MAX_KEYS_PER_RECORD = 64

/**
 * cairn's keys of every record of an imported graph. A root record's key is its digest; a record
 * with inputs has one key per combination of its inputs' alternative links (BuildKit's OR-lists),
 * each derived exactly as the solver derives keys (keyFromRecord), so a live step finds the
 * record its op and inputs would have produced.
 */
export function recordKeys(graph: CacheGraph): Map<GraphRecord, Digest[]> {
  const memo = new Map<GraphRecord, Digest[]>()
  const visiting = new Set<GraphRecord>()
  const keysOf = (r: GraphRecord): Digest[] => {
    const hit = memo.get(r)
    if (hit) return hit
    if (visiting.has(r)) return []
    visiting.add(r)
    let combos: { selector: string; link: string }[][] = [[]]
    for (const alts of r.inputs) {
      const options = alts.flatMap((a) => keysOf(a.record).map((k) => ({ selector: a.selector, link: k as string })))
      const next: { selector: string; link: string }[][] = []
      for (const c of combos) for (const opt of options) if (next.length < MAX_KEYS_PER_RECORD) next.push([...c, opt])
      combos = next
    }
    const keys = r.inputs.length === 0 ? [r.digest] : combos.map((links) => keyFromRecord(r.digest, links.map((l) => ({ selector: (l.selector || undefined) as Digest | undefined, link: l.link }))))
    visiting.delete(r)
    memo.set(r, keys)
    return keys
  }
  for (const r of graph.records) keysOf(r)
  return memo
}

export type ImportWarning = (message: string) => void

/**
 * An imported cache (one or several refs, merged): answers cache lookups with layer chains whose
 * blobs stay in the remote store until a step needs them (lazy). A result whose blobs are missing
 * is a miss with a warning, never a failed build.
 */
export class ImportedCache implements CacheSource {
  readonly name: string
  #results = new Map<Digest, GraphResult>()
  #transport: CacheTransport
  #layers: LayerStore
  #warn: ImportWarning
  #present = new Map<Digest, Promise<boolean>>()
  #known = new Set<Digest>()
  #sourceRegistered = false

  constructor(name: string, transport: CacheTransport, layers: LayerStore, warn: ImportWarning) {
    this.name = name
    this.#transport = transport
    this.#layers = layers
    this.#warn = warn
  }

  /** Adds a decoded graph; for a key found in several graphs the newest result wins. */
  add(graph: CacheGraph): void {
    for (const [rec, keys] of recordKeys(graph)) {
      const best = newest(rec.results)
      if (!best) continue
      for (const k of keys) {
        const have = this.#results.get(k)
        if (!have || Date.parse(best.createdAt) > Date.parse(have.createdAt)) this.#results.set(k, best)
      }
      for (const l of best.chain) this.#known.add(l.blob.digest)
    }
  }

  get size(): number {
    return this.#results.size
  }

  async get(key: Digest, signal: AbortSignal): Promise<BuildRef | undefined> {
    const res = this.#results.get(key)
    if (!res) return undefined
    for (const l of res.chain) {
      if (!(await this.#exists(l.blob, signal))) {
        this.#warn(`cache ${this.name}: blob ${l.blob.digest} is missing or truncated; treating the step as not cached`)
        return undefined
      }
    }
    this.#registerSource()
    const ids: string[] = []
    for (const l of res.chain) {
      const diffID = l.blob.annotations?.[ANNOTATION_UNCOMPRESSED] as Digest | undefined
      if (!diffID) return undefined
      const created = Date.parse(l.blob.annotations?.[ANNOTATION_CREATED_AT] ?? res.createdAt)
      const rec = await this.#layers.adopt(diffID, { mediaType: l.blob.mediaType, digest: l.blob.digest, size: l.blob.size }, Number.isFinite(created) ? Math.floor(created / 1000) : 0)
      ids.push(rec.id)
    }
    return { kind: 'layers', layers: ids }
  }

  #exists(desc: Descriptor, signal: AbortSignal): Promise<boolean> {
    let p = this.#present.get(desc.digest)
    if (!p) {
      // a blob of the wrong size (truncated) is as good as missing
      p = this.#transport.statBlob(desc.digest, { signal }).then(
        (info) => info !== undefined && (desc.size < 0 || info.size === desc.size),
        () => false,
      )
      this.#present.set(desc.digest, p)
    }
    return p
  }

  /** Lets the layer store read this cache's blobs (verified while streaming) when a step needs them. */
  #registerSource(): void {
    if (this.#sourceRegistered) return
    this.#sourceRegistered = true
    this.#layers.sources.push({
      remote: this.#transport.kind !== 'local',
      has: (desc) => this.#known.has(desc.digest),
      open: async (desc: Descriptor, signal: AbortSignal): Promise<Readable | undefined> => {
        if (!this.#known.has(desc.digest)) return undefined
        const s = await this.#transport.openBlob(desc, { signal })
        const v = verifyingStream(desc, `cache ${this.name}: blob ${desc.digest}`)
        // The consumer reads `v`; errors of either side destroy both.
        pipeline(s, v).catch(() => {})
        return v
      },
    })
  }
}

function newest(results: readonly GraphResult[]): GraphResult | undefined {
  let best: GraphResult | undefined
  for (const r of results) if (!best || Date.parse(r.createdAt) > Date.parse(best.createdAt)) best = r
  return best
}

/**
 * Decoding and validation of the cache config (cache/remotecache/v1/parse.go). Keys match
 * case-insensitively, unknown keys are ignored and a missing `parent` means 0, as with Go's
 * encoding/json. Hard errors (FailedPreconditionError, code ERR_CACHE_FORMAT): looping records,
 * out-of-range links or layer indexes, empty input lists, looping parent chains, malformed JSON,
 * a config over the size limit. A result whose blobs are not in the descriptor provider is dropped
 * silently, exactly as BuildKit does.
 */
import type { Descriptor } from '../../core/descriptor.ts'
import { type Digest, isDigest } from '../../core/digest.ts'
import { FailedPreconditionError } from '../../core/errors.ts'
import { arrayField, asObject, field, formatError, intField, type JsonObject, parseJson, stringField } from './json.ts'
import { MAX_CONFIG_SIZE } from './media.ts'
import { decodeTime } from './time.ts'
import type { CacheGraph, GraphRecord, GraphResult, LayerRef, WireCacheConfig, WireChain, WireInput, WireLayer, WireRecord, WireResult } from './types.ts'

export interface DecodeOptions {
  /**
   * The descriptor provider: the layer descriptors the wrapper (or the object-store annotations)
   * lists, keyed by digest; duplicates are fine (first wins). Results naming other blobs are dropped.
   */
  descriptors: Iterable<Descriptor> | ReadonlyMap<Digest, Descriptor>
  /** Refuse bigger configs (default 1 MiB, BuildKit's limit; exactly 1 MiB is accepted). */
  maxBytes?: number
  /** Names the input in errors (default `cache config`). */
  what?: string
}

/** Checks the size limit BuildKit applies to manifests and configs (`size > 1<<20` fails). */
export function checkSize(size: number, what: string, maxBytes = MAX_CONFIG_SIZE): void {
  if (size > maxBytes) {
    throw new FailedPreconditionError(`${what} is too large: ${size} bytes (limit ${maxBytes})`, {
      code: 'ERR_CACHE_TOO_LARGE',
      hint: 'export with mode=min or split the cache into several refs',
    })
  }
}

/** Decodes config bytes into a graph whose results resolve against `opts.descriptors`. */
export function decodeCacheConfig(bytes: Uint8Array, opts: DecodeOptions): CacheGraph {
  const what = opts.what ?? 'cache config'
  checkSize(bytes.byteLength, what, opts.maxBytes)
  const wire = parseWireConfig(parseJson(bytes, what), what)
  return graphFromWire(wire, providerMap(opts.descriptors), what)
}

export function providerMap(d: DecodeOptions['descriptors']): Map<Digest, Descriptor> {
  if (d instanceof Map) return new Map(d)
  const m = new Map<Digest, Descriptor>()
  for (const desc of d as Iterable<Descriptor>) if (!m.has(desc.digest)) m.set(desc.digest, desc)
  return m
}

/** Structural parse of the config JSON (types checked, Go defaults applied, indexes not yet). */
export function parseWireConfig(json: unknown, what: string): WireCacheConfig {
  const top = asObject(json, what)
  const layers = arrayField(top, 'layers', what).map((v, i) => parseLayer(v, `${what} layers[${i}]`))
  const records = arrayField(top, 'records', what).map((v, i) => parseRecord(v, `${what} records[${i}]`))
  return { layers, records }
}

export function parseRecords(json: unknown, what: string): WireRecord[] {
  if (!Array.isArray(json)) throw formatError(what, 'expected a JSON array of records')
  return json.map((v, i) => parseRecord(v, `${what}[${i}]`))
}

function parseLayer(v: unknown, what: string): WireLayer {
  const o = asObject(v, what)
  const l: WireLayer = { blob: stringField(o, 'blob', what) as Digest, parent: intField(o, 'parent', what) }
  const ann = field(o, 'annotations')
  if (ann !== undefined && ann !== null) {
    const a = asObject(ann, `${what}.annotations`)
    const w = `${what}.annotations`
    l.annotations = {
      mediaType: stringField(a, 'mediaType', w),
      diffID: stringField(a, 'diffID', w) as Digest,
      size: intField(a, 'size', w),
      createdAt: decodeTime(field(a, 'createdAt'), `${w}.createdAt`),
    }
  }
  return l
}

function parseRecord(v: unknown, what: string): WireRecord {
  const o = asObject(v, what)
  const r: WireRecord = { digest: stringField(o, 'digest', what) as Digest }
  r.layers = arrayField(o, 'layers', what).map((x, i): WireResult => {
    const w = `${what}.layers[${i}]`
    const ro = asObject(x, w)
    return { layer: intField(ro, 'layer', w), createdAt: decodeTime(field(ro, 'createdAt'), `${w}.createdAt`) }
  })
  r.chains = arrayField(o, 'chains', what).map((x, i): WireChain => {
    const w = `${what}.chains[${i}]`
    const co = asObject(x, w)
    const idx = arrayField(co, 'layers', w).map((n, j) => {
      if (typeof n !== 'number' || !Number.isSafeInteger(n)) throw formatError(`${w}.layers[${j}]`, 'expected an integer')
      return n
    })
    return { layers: idx, createdAt: decodeTime(field(co, 'createdAt'), `${w}.createdAt`) }
  })
  r.inputs = arrayField(o, 'inputs', what).map((list, i) => {
    const w = `${what}.inputs[${i}]`
    if (list === null) return []
    if (!Array.isArray(list)) throw formatError(w, 'expected an array')
    return list.map((x, j): WireInput => {
      const io = asObject(x, `${w}[${j}]`) as JsonObject
      return { selector: stringField(io, 'selector', `${w}[${j}]`), link: intField(io, 'link', `${w}[${j}]`) }
    })
  })
  return r
}

/**
 * Resolves indexes into object references, validating as BuildKit's ParseConfig does: records
 * are visited recursively, inputs first, so loops and bad links anywhere are found.
 */
export function graphFromWire(wire: WireCacheConfig, provider: ReadonlyMap<Digest, Descriptor>, what: string): CacheGraph {
  const layers = wire.layers ?? []
  const records = wire.records ?? []
  const done = new Map<number, GraphRecord | null>()
  const refs = new Map<Digest, LayerRef>()
  const ref = (d: Descriptor): LayerRef => {
    let r = refs.get(d.digest)
    if (!r) {
      r = { blob: d }
      refs.set(d.digest, r)
    }
    return r
  }

  const chainOf = (top: number, w: string): LayerRef[] | undefined => {
    const out: LayerRef[] = []
    const visited = new Set<number>()
    for (let idx = top; ; ) {
      if (visited.has(idx)) throw formatError(w, `invalid looping layer: layer ${idx} is its own ancestor`)
      visited.add(idx)
      const l = layers[idx]
      if (idx < 0 || !l) throw formatError(w, `layer index ${idx} out of range (${layers.length} layers)`)
      const desc = provider.get(l.blob)
      if (!desc) return undefined
      out.push(ref(desc))
      const parent = l.parent ?? 0
      if (parent === -1) return out.reverse()
      idx = parent
    }
  }

  const visit = (idx: number, from: string): GraphRecord => {
    const have = done.get(idx)
    if (have === null) throw formatError(from, `invalid looping record: record ${idx} is its own ancestor`)
    if (have) return have
    const rec = records[idx]
    if (idx < 0 || !rec) throw formatError(from, `link to record ${idx} out of range (${records.length} records)`)
    const w = `${what} records[${idx}]`
    if (!isDigest(rec.digest)) throw formatError(w, `invalid digest ${JSON.stringify(rec.digest)}`)
    done.set(idx, null)
    const inputs = (rec.inputs ?? []).map((list, i) => {
      if (list.length === 0) throw formatError(`${w}.inputs[${i}]`, `invalid empty input for record ${idx}`)
      return list.map((inp) => ({ selector: inp.selector ?? '', record: visit(inp.link, `${w}.inputs[${i}]`) }))
    })
    const results: GraphResult[] = []
    ;(rec.layers ?? []).forEach((res, i) => {
      const chain = chainOf(res.layer, `${w}.layers[${i}]`)
      if (chain) results.push({ chain, createdAt: res.createdAt })
    })
    ;(rec.chains ?? []).forEach((res, i) => {
      const chain: LayerRef[] = []
      for (const li of res.layers) {
        const l = layers[li]
        if (li < 0 || !l) throw formatError(`${w}.chains[${i}]`, `layer index ${li} out of range (${layers.length} layers)`)
        const desc = provider.get(l.blob)
        if (!desc) return
        chain.push(ref(desc))
      }
      if (chain.length > 0) results.push({ chain, createdAt: res.createdAt })
    })
    const out: GraphRecord = { digest: rec.digest, inputs, results }
    done.set(idx, out)
    return out
  }

  const out: GraphRecord[] = []
  for (let i = 0; i < records.length; i++) out.push(visit(i, `${what} records[${i}]`))
  return { records: out }
}

/**
 * Types of the BuildKit cache config (`application/vnd.buildkit.cacheconfig.v0`), in two shapes:
 * the wire shape (`Wire*`, index-based, exactly the JSON BuildKit reads and writes) and the friendly
 * in-memory graph (`CacheGraph`, object references) that exporters build and importers walk.
 */
import type { Descriptor } from '../../core/descriptor.ts'
import type { Digest } from '../../core/digest.ts'

/** `layers[].annotations`, only in the object-store form (gha, s3, azblob). Field order is Go's. */
export interface WireLayerAnnotations {
  mediaType?: string
  diffID?: Digest
  size?: number
  createdAt?: string
}

/**
 * One `layers[]` entry: a blob in the context of one parent chain. `parent` is an index into
 * `layers`, -1 for a base layer; **a missing `parent` means 0** (Go's omitempty drops 0).
 */
export interface WireLayer {
  blob: Digest
  parent?: number
  annotations?: WireLayerAnnotations
}

/** A result (JSON key `layers` of a record): layer `layer` plus all its ancestors, base → top. */
export interface WireResult {
  layer: number
  createdAt: string
}

/** A chained result (JSON key `chains`): explicit layer indexes, base → top, parents ignored. */
export interface WireChain {
  layers: number[]
  createdAt: string
}

/** One alternative parent of an input: `link` indexes `records`; `selector` omitted when empty. */
export interface WireInput {
  selector?: string
  link: number
}

/** One cache key. `inputs[i]` is an OR-list of parents for input index i; omitted for roots. */
export interface WireRecord {
  layers?: WireResult[]
  chains?: WireChain[]
  digest: Digest
  inputs?: WireInput[][]
}

/** The whole config; both arrays are omitted when empty. */
export interface WireCacheConfig {
  layers?: WireLayer[]
  records?: WireRecord[]
}

/**
 * A layer blob of a result chain. `blob` is the full descriptor: digest, size, media type, and the
 * annotations `containerd.io/uncompressed` (diffID, required by importers) and optionally
 * `buildkit/createdat` (RFC 3339).
 */
export interface LayerRef {
  blob: Descriptor
}

/** A stored result: a chain of layers ordered base → top, and when it was created (RFC 3339). */
export interface GraphResult {
  chain: LayerRef[]
  createdAt: string
}

/** One alternative parent of an input; `selector` is '' when the whole input is used. */
export interface GraphInput {
  selector: string
  record: GraphRecord
}

/**
 * A cache key. `inputs[i]` lists the alternative parent keys of input i (any one satisfies it);
 * `results` the layer chains stored for the key (the encoder keeps the newest).
 */
export interface GraphRecord {
  digest: Digest
  inputs: GraphInput[][]
  results: GraphResult[]
}

/**
 * The in-memory cache graph. `records` lists every record; records reachable only through
 * `inputs` are included by the encoder too. Decoded graphs list records in file order.
 */
export interface CacheGraph {
  records: GraphRecord[]
}

import type { Digest } from '../core/digest.ts'

/**
 * The solver's view of a build: a DAG of vertices, each running one op over the results of its
 * inputs. It knows nothing of Dockerfiles; results (`R`) are opaque to it.
 */
export interface Vertex<R> {
  /** Unique within one graph. */
  readonly id: string
  /** Display name, e.g. `[build 2/4] RUN make`. */
  readonly name: string
  readonly op: Op<R>
  readonly inputs: readonly Vertex<R>[]
  /** Not reported as a step of its own (e.g. the build context source). */
  readonly internal?: boolean
}

/** How an op's result is keyed: its own description's digest plus one dependency per input. */
export interface CacheMap<R> {
  /** Digest of the op's canonical description (BuildKit's CacheMap digest). */
  digest: Digest
  /** The canonical description itself (the digest's preimage), to explain cache misses. */
  description?: string
  deps: readonly CacheDep<R>[]
}

export interface CacheDep<R> {
  /** Digest of the paths of the input this op reads (BuildKit's selector). */
  selector?: Digest
  /** Content checksum of what the op reads from the input (BuildKit's "slow" key). */
  contentDigest?: (input: R, signal: AbortSignal) => Promise<Digest>
}

export interface OpContext {
  signal: AbortSignal
  /** Output of the running step (log lines), forwarded to progress. */
  log(stream: 1 | 2, chunk: Buffer): void
}

export interface Op<R> {
  /** The cache map, or undefined for an op whose result never has a key (a local source). */
  cacheMap(signal: AbortSignal): Promise<CacheMap<R> | undefined>
  exec(inputs: readonly R[], ctx: OpContext): Promise<R>
}

/** Where results are found by key: the local index, then imported caches. */
export interface CacheLookup<R> {
  get(key: Digest, signal: AbortSignal): Promise<{ ref: R; source: string } | undefined>
  put(keys: readonly Digest[], ref: R, vertexName: string): Promise<void>
}

/** Makes a result usable by an op (e.g. extracts a cached layer chain onto disk). */
export type Materialize<R> = (ref: R, signal: AbortSignal) => Promise<R>

export type SolveEvent =
  | { type: 'vertex.start'; id: string; name: string; at: number }
  | { type: 'vertex.cached'; id: string; name: string; source: string; at: number }
  | { type: 'vertex.done'; id: string; name: string; cached: boolean; source?: string; durationMs: number; at: number; error?: string }
  | { type: 'vertex.log'; id: string; name: string; stream: 1 | 2; data: Buffer; at: number }
  | {
      type: 'vertex.miss'
      id: string
      name: string
      keys: { fast?: Digest; slow?: Digest }
      /** The op's description and input links (what a miss is explained from), and its inputs' names. */
      record?: { description?: string; deps: { selector?: Digest; input?: Digest; content?: Digest }[] }
      inputs?: string[]
      at: number
    }
  | { type: 'vertex.explain'; id: string; name: string; reason: string; at: number }
  | { type: 'vertex.warning'; id: string; name: string; message: string; at: number }

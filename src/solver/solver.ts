import type { Digest } from '../core/digest.ts'
import { CairnError } from '../core/errors.ts'
import { cacheKey, contentLink, type KeyLink, rootKey } from './cache-key.ts'
import type { CacheLookup, Materialize, SolveEvent, Vertex } from './types.ts'

export interface SolverOptions<R> {
  cache: CacheLookup<R>
  materialize: Materialize<R>
  /** Skip cache lookups (results are still recorded). */
  noCache?: boolean
  /** Vertex ids whose lookups are skipped (`--no-cache-filter`). */
  noCacheFor?: ReadonlySet<string>
  emit(ev: SolveEvent): void
  /** Called with each result an op produced (not with cache hits), as soon as it exists. */
  onResult?(v: Vertex<R>, ref: R): void
  /** At most this many ops execute at once. */
  parallelism?: number
}

/** How a result is linked in BuildKit's cache graph: its record digest and, per input, the known links. */
export interface SolvedRecord {
  /** BuildKit's record digest: rootKey(cache-map digest, 0). */
  digest: Digest
  /** The op's canonical description, when the op provides it. */
  description?: string
  deps: {
    selector?: Digest
    /** The input's key (BuildKit's link to the input record), when the input has one. */
    input?: Digest
    /** The content link (digest of BuildKit's slow-key record), when it was computed. */
    content?: Digest
  }[]
}

/** The outcome of solving one vertex. */
export interface Solved<R> {
  /** The key downstream ops link to; undefined for ops without a key (local sources). */
  key: Digest | undefined
  /** True when the result came from a cache. */
  cached: boolean
  /** The result: set for a cache hit (it may need `materialize`) and once the op has run. */
  ref: R | undefined
  /** Where a hit came from. */
  source?: string
  /** Undefined for ops without a key. */
  record?: SolvedRecord
  /** Keys to record a fresh result under. */
  keys: Digest[]
}

/**
 * Solves vertices lazily, in two phases as BuildKit's solver does. `solve` derives a vertex's key
 * from its op's cache map and its inputs' keys and looks it up; it runs nothing unless a key needs
 * the content of an input (a content checksum). `build` produces the result: a cache hit is
 * materialized, a miss runs the op on its inputs' results. So a step whose key hits never runs its
 * inputs, and a cached final result downloads nothing else. Each vertex is solved and run at most
 * once per solver; independent vertices run concurrently.
 */
export class Solver<R> {
  #opts: SolverOptions<R>
  #solved = new Map<string, Promise<Solved<R>>>()
  #results = new Map<string, Promise<R>>()
  #vertices = new Map<string, Vertex<R>>()
  #running = 0
  #queue: (() => void)[] = []

  constructor(opts: SolverOptions<R>) {
    this.#opts = opts
  }

  /** Derives the vertex's key and looks it up (memoized). */
  solve(v: Vertex<R>, signal: AbortSignal): Promise<Solved<R>> {
    let p = this.#solved.get(v.id)
    if (!p) {
      p = this.#solve(v, signal)
      this.#solved.set(v.id, p)
      this.#vertices.set(v.id, v)
    }
    return p
  }

  /**
   * The vertex's result, usable: materialized from the cache or produced by running the op (memoized).
   * `materialize` replaces the solver's own for this vertex's cache hit (not for its inputs): a caller
   * that needs less than a result on disk (an image output needs blobs, not files) says so here.
   */
  build(v: Vertex<R>, signal: AbortSignal, o: { materialize?: Materialize<R> } = {}): Promise<R> {
    let p = this.#results.get(v.id)
    if (!p) {
      p = this.#build(v, signal, o.materialize ?? this.#opts.materialize)
      this.#results.set(v.id, p)
    }
    return p
  }

  /** Every vertex solved so far with its outcome (for cache export and reports). */
  async solvedSteps(): Promise<{ vertex: Vertex<R>; solved: Solved<R> }[]> {
    const out: { vertex: Vertex<R>; solved: Solved<R> }[] = []
    for (const [id, p] of this.#solved) {
      const v = this.#vertices.get(id)
      if (v) out.push({ vertex: v, solved: await p })
    }
    return out
  }

  async #solve(v: Vertex<R>, signal: AbortSignal): Promise<Solved<R>> {
    const inputs = await Promise.all(v.inputs.map((i) => this.solve(i, signal)))
    const cm = await v.op.cacheMap(signal)
    if (!cm) return { key: undefined, cached: false, ref: undefined, keys: [] }
    if (cm.deps.length !== v.inputs.length) {
      throw new CairnError('ERR_SOLVER_DEPS', `${v.name}: cache map has ${cm.deps.length} deps for ${v.inputs.length} inputs`)
    }
    const skipLookup = this.#opts.noCache === true || this.#opts.noCacheFor?.has(v.id) === true
    const lookup = async (key: Digest) => (skipLookup ? undefined : this.#opts.cache.get(key, signal))
    const record: SolvedRecord = {
      digest: rootKey(cm.digest, 0),
      ...(cm.description !== undefined ? { description: cm.description } : {}),
      deps: cm.deps.map((d, i) => ({ ...(d.selector ? { selector: d.selector } : {}), ...(inputs[i]?.key ? { input: inputs[i]?.key } : {}) })),
    }

    let fast: Digest | undefined
    if (inputs.every((i) => i.key !== undefined)) {
      fast = cacheKey(cm.digest, 0, inputs.map((inp, i): KeyLink => ({ selector: cm.deps[i]?.selector, link: inp.key as string })))
      const hit = await lookup(fast)
      if (hit) return this.#hit(v, fast, hit, record)
    }
    let slow: Digest | undefined
    if (cm.deps.some((d) => d.contentDigest)) {
      const links: KeyLink[] = []
      let complete = true
      for (const [i, dep] of cm.deps.entries()) {
        if (dep.contentDigest) {
          const ref = await this.build(v.inputs[i] as Vertex<R>, signal)
          const content = contentLink(await dep.contentDigest(ref, signal))
          ;(record.deps[i] as SolvedRecord['deps'][number]).content = content
          links.push({ link: content })
        } else if (inputs[i]?.key !== undefined) links.push({ selector: dep.selector, link: inputs[i]?.key as string })
        else complete = false
      }
      if (complete) {
        slow = cacheKey(cm.digest, 0, links)
        const hit = slow !== fast ? await lookup(slow) : undefined
        if (hit) {
          // Also record it under the fast key, and hand the fast key downstream, so that the next
          // build (which will hit the fast key) derives the same downstream keys.
          if (fast) await this.#opts.cache.put([fast], hit.ref, v.name)
          return this.#hit(v, fast ?? slow, hit, record)
        }
      }
    }
    const keys = [fast, slow].filter((k): k is Digest => k !== undefined)
    if (!v.internal && !skipLookup) {
      this.#opts.emit({
        type: 'vertex.miss',
        id: v.id,
        name: v.name,
        keys: { ...(fast ? { fast } : {}), ...(slow ? { slow } : {}) },
        record,
        inputs: v.inputs.map((i) => i.name),
        at: Date.now(),
      })
    }
    const key = fast ?? slow
    return { key, cached: false, ref: undefined, keys, ...(key ? { record } : {}) }
  }

  #hit(v: Vertex<R>, key: Digest, hit: { ref: R; source: string }, record: SolvedRecord): Solved<R> {
    if (!v.internal) {
      const at = Date.now()
      this.#opts.emit({ type: 'vertex.cached', id: v.id, name: v.name, source: hit.source, at })
      this.#opts.emit({ type: 'vertex.done', id: v.id, name: v.name, cached: true, source: hit.source, durationMs: 0, at })
    }
    return { key, cached: true, ref: hit.ref, source: hit.source, record, keys: [key] }
  }

  async #build(v: Vertex<R>, signal: AbortSignal, materialize: Materialize<R>): Promise<R> {
    const s = await this.solve(v, signal)
    if (s.cached && s.ref !== undefined) {
      try {
        const ref = await materialize(s.ref, signal)
        s.ref = ref
        return ref
      } catch (err) {
        return this.#recompute(v, s, err, signal)
      }
    }
    return this.#run(v, s, signal)
  }

  async #run(v: Vertex<R>, s: Solved<R>, signal: AbortSignal): Promise<R> {
    const refs = await Promise.all(v.inputs.map((i) => this.build(i, signal)))
    const ref = await this.#exec(v, refs, signal)
    if (s.keys.length > 0) await this.#opts.cache.put(s.keys, ref, v.name)
    s.ref = ref
    s.cached = false
    return ref
  }

  /**
   * A cached result that cannot be materialized (an imported blob is missing or corrupt) is a
   * cache miss, not a failed build: the step runs after all, under the same key.
   */
  async #recompute(v: Vertex<R>, s: Solved<R>, err: unknown, signal: AbortSignal): Promise<R> {
    if (signal.aborted) throw err
    const msg = err instanceof Error ? err.message : String(err)
    this.#opts.emit({ type: 'vertex.warning', id: v.id, name: v.name, message: `cached result unusable (${msg}); running the step instead`, at: Date.now() })
    delete s.source
    return this.#run(v, s, signal)
  }

  async #exec(v: Vertex<R>, inputs: R[], signal: AbortSignal): Promise<R> {
    await this.#acquire()
    const start = Date.now()
    if (!v.internal) this.#opts.emit({ type: 'vertex.start', id: v.id, name: v.name, at: start })
    try {
      const ref = await v.op.exec(inputs, {
        signal,
        log: (stream, data) => this.#opts.emit({ type: 'vertex.log', id: v.id, name: v.name, stream, data, at: Date.now() }),
      })
      if (!v.internal) this.#opts.emit({ type: 'vertex.done', id: v.id, name: v.name, cached: false, durationMs: Date.now() - start, at: Date.now() })
      this.#opts.onResult?.(v, ref)
      return ref
    } catch (err) {
      if (!v.internal) {
        const msg = err instanceof Error ? err.message : String(err)
        this.#opts.emit({ type: 'vertex.done', id: v.id, name: v.name, cached: false, durationMs: Date.now() - start, at: Date.now(), error: msg })
      }
      throw err
    } finally {
      this.#release()
    }
  }

  async #acquire(): Promise<void> {
    const max = this.#opts.parallelism ?? 4
    if (this.#running < max) {
      this.#running++
      return
    }
    await new Promise<void>((resolve) => this.#queue.push(resolve))
    this.#running++
  }

  #release(): void {
    this.#running--
    this.#queue.shift()?.()
  }
}

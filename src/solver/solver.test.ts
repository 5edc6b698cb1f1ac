import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { type Digest, sha256 } from '../core/digest.ts'
import { cacheKey, contentLink, keyFromRecord, rootKey } from './cache-key.ts'
import { Solver } from './solver.ts'
import type { CacheLookup, CacheMap, Op, SolveEvent, Vertex } from './types.ts'

type R = { value: string }

/** An in-memory cache index. */
function memoryCache(): CacheLookup<R> & { map: Map<Digest, R> } {
  const map = new Map<Digest, R>()
  return {
    map,
    async get(key) {
      const ref = map.get(key)
      return ref ? { ref, source: 'local' } : undefined
    },
    async put(keys, ref) {
      for (const k of keys) map.set(k, ref)
    },
  }
}

/** A source op: a fixed value under a fixed description. */
function source(id: string, desc: string, value = desc, runs: string[] = []): Vertex<R> {
  const op: Op<R> = {
    cacheMap: async () => ({ digest: sha256(desc), deps: [] }),
    exec: async () => {
      runs.push(id)
      return { value }
    },
  }
  return { id, name: id, op, inputs: [] }
}

/** A transform: concatenates its inputs; `content` makes dep 0 content-keyed. */
function transform(id: string, desc: string, inputs: Vertex<R>[], runs: string[], content?: (r: R) => string): Vertex<R> {
  const op: Op<R> = {
    cacheMap: async (): Promise<CacheMap<R>> => ({
      digest: sha256(desc),
      deps: inputs.map((_, i) => (i === 0 && content ? { selector: sha256('/x'), contentDigest: async (r: R) => sha256(content(r)) } : { selector: sha256('/') })),
    }),
    exec: async (refs) => {
      runs.push(id)
      return { value: `${desc}(${refs.map((r) => r.value).join(',')})` }
    },
  }
  return { id, name: id, op, inputs }
}

const solver = (cache: CacheLookup<R>, events: SolveEvent[] = [], noCache = false) =>
  new Solver<R>({ cache, materialize: async (r) => r, emit: (e) => events.push(e), noCache })

describe('cache keys', () => {
  it('root key is BuildKit\'s sha256("<digest>@<output>")', () => {
    const cm = sha256('op')
    assert.equal(rootKey(cm, 0), sha256(`${cm}@0`))
    assert.equal(cacheKey(cm, 0, []), rootKey(cm, 0))
    assert.equal(contentLink(cm), sha256(`${cm}@-1`))
  })
  it('a key with inputs is derivable from a record digest and its links', () => {
    const cm = sha256('op')
    const links = [{ selector: sha256('/'), link: sha256('in') }]
    assert.equal(cacheKey(cm, 0, links), keyFromRecord(rootKey(cm, 0), links))
    assert.notEqual(cacheKey(cm, 0, links), cacheKey(cm, 0, [{ selector: sha256('/a'), link: sha256('in') }]))
    assert.notEqual(cacheKey(cm, 0, links), cacheKey(cm, 0, [{ selector: sha256('/'), link: sha256('other') }]))
  })
})

describe('Solver', () => {
  it('runs a graph once, then answers the same graph from the cache', async () => {
    const cache = memoryCache()
    const runs: string[] = []
    const graph = () => {
      const a = source('a', 'A', 'a', runs)
      const b = transform('b', 'B', [a], runs)
      return transform('c', 'C', [b, source('d', 'D', 'd', runs)], runs)
    }
    const s1 = solver(cache)
    const g1 = graph()
    assert.equal((await s1.build(g1, new AbortController().signal)).value, 'C(B(a),d)')
    const first = await s1.solve(g1, new AbortController().signal)
    assert.deepEqual(runs.sort(), ['a', 'b', 'c', 'd'])
    runs.length = 0
    const events: SolveEvent[] = []
    const s2 = solver(cache, events)
    const g2 = graph()
    assert.equal((await s2.build(g2, new AbortController().signal)).value, 'C(B(a),d)')
    const second = await s2.solve(g2, new AbortController().signal)
    assert.equal(second.key, first.key)
    assert.deepEqual(runs, [], 'nothing runs on a cached graph')
    assert.ok(second.cached)
    assert.ok(events.filter((e) => e.type === 'vertex.cached').length >= 1)
  })

  it('is lazy: a hit on the final step runs none of its inputs', async () => {
    const cache = memoryCache()
    const runs: string[] = []
    const g = () => transform('c', 'C', [transform('b', 'B', [source('a', 'A', 'a', runs)], runs)], runs)
    const s1 = solver(cache)
    const c1 = g()
    await s1.build(c1, new AbortController().signal)
    const finalKey = (await s1.solve(c1, new AbortController().signal)).key as Digest
    for (const k of [...cache.map.keys()]) if (k !== finalKey) cache.map.delete(k) // only the final result is cached (mode=min)
    runs.length = 0
    const out = await solver(cache).build(g(), new AbortController().signal)
    assert.equal(out.value, 'C(B(a))')
    assert.deepEqual(runs, [])
  })

  it('a changed op reruns it and everything after it, not what came before', async () => {
    const cache = memoryCache()
    const runs: string[] = []
    const s = solver(cache)
    const a = source('a', 'A', 'a', runs)
    await s.build(transform('c', 'C', [transform('b', 'B', [a], runs)], runs), new AbortController().signal)
    runs.length = 0
    const a2 = source('a', 'A', 'a', runs)
    await solver(cache).build(transform('c', 'C', [transform('b', 'B2', [a2], runs)], runs), new AbortController().signal)
    assert.deepEqual(runs, ['b', 'c'])
  })

  it('a content-keyed dependency hits when the content matches, whatever produced it', async () => {
    const cache = memoryCache()
    const runs: string[] = []
    const content = (r: R) => r.value.slice(0, 1) // only the first letter is "read"
    await solver(cache).build(transform('t', 'T', [source('s', 'S1', 'xyz', runs)], runs, content), new AbortController().signal)
    runs.length = 0
    // another source (different key) with the same first letter: the fast key misses, the content key hits
    const sv = solver(cache)
    const t = transform('t', 'T', [source('s', 'S2', 'xab', runs)], runs, content)
    await sv.build(t, new AbortController().signal)
    assert.deepEqual(runs, ['s'], 'the source reran (its key changed) but the transform was a hit')
    assert.ok((await sv.solve(t, new AbortController().signal)).cached)
    runs.length = 0
    await solver(cache).build(transform('t', 'T', [source('s', 'S3', 'qab', runs)], runs, content), new AbortController().signal)
    assert.deepEqual(runs, ['s', 't'], 'different content reruns the transform')
  })

  it('after a content hit, the next build derives the same downstream keys (fast path)', async () => {
    const cache = memoryCache()
    const runs: string[] = []
    const content = (r: R) => r.value.slice(0, 1)
    const g = (src: string, val: string) => transform('u', 'U', [transform('t', 'T', [source('s', src, val, runs)], runs, content)], runs)
    await solver(cache).build(g('S1', 'xyz'), new AbortController().signal)
    await solver(cache).build(g('S2', 'xab'), new AbortController().signal) // t hits by content, u by the stable key
    runs.length = 0
    await solver(cache).build(g('S2', 'xab'), new AbortController().signal)
    assert.deepEqual(runs, [], 'third build: everything cached')
  })

  it('--no-cache skips lookups but records results', async () => {
    const cache = memoryCache()
    const runs: string[] = []
    const g = () => transform('b', 'B', [source('a', 'A', 'a', runs)], runs)
    await solver(cache).build(g(), new AbortController().signal)
    runs.length = 0
    await solver(cache, [], true).build(g(), new AbortController().signal)
    assert.deepEqual(runs.sort(), ['a', 'b'])
  })

  it('solves independent inputs concurrently and a shared input once', async () => {
    const cache = memoryCache()
    let active = 0
    let peak = 0
    const runs: string[] = []
    const slow = (id: string): Vertex<R> => ({
      id,
      name: id,
      inputs: [],
      op: {
        cacheMap: async () => ({ digest: sha256(id), deps: [] }),
        exec: async () => {
          active++
          peak = Math.max(peak, active)
          await new Promise((r) => setTimeout(r, 30))
          active--
          runs.push(id)
          return { value: id }
        },
      },
    })
    const shared = slow('shared')
    const top = transform('top', 'TOP', [transform('l', 'L', [shared, slow('x')], runs), transform('r', 'R', [shared, slow('y')], runs)], runs)
    await solver(cache).build(top, new AbortController().signal)
    assert.ok(peak >= 2, `expected parallel execution, peak ${peak}`)
    assert.equal(runs.filter((r) => r === 'shared').length, 1)
  })

  it('a failing op rejects the solve and reports the error', async () => {
    const events: SolveEvent[] = []
    const bad: Vertex<R> = {
      id: 'bad',
      name: 'bad',
      inputs: [],
      op: { cacheMap: async () => ({ digest: sha256('bad'), deps: [] }), exec: async () => Promise.reject(new RangeError('boom')) },
    }
    await assert.rejects(solver(memoryCache(), events).build(bad, new AbortController().signal), /boom/)
    assert.ok(events.some((e) => e.type === 'vertex.done' && e.error === 'boom'))
  })
})

import type { CacheGraph, CacheGraphBuilder, GraphRecord, GraphResult, InputSpec } from '../format/index.ts'

/**
 * Adds the records and results of another graph (what a cache ref held before this export) into a
 * builder, so builds that share a cache add to it instead of replacing each other's entries.
 * Results for which `keep` is false are dropped (too old, or naming a blob that is gone);
 * records are kept only when they lead to a kept result or are needed as parents.
 */
export function mergeGraphInto(builder: CacheGraphBuilder, graph: CacheGraph, keep: (result: GraphResult) => boolean): void {
  const done = new Map<GraphRecord, GraphRecord | undefined>()
  const add = (r: GraphRecord): GraphRecord | undefined => {
    if (done.has(r)) return done.get(r)
    done.set(r, undefined) // cycle guard
    const inputs: InputSpec[][] = []
    for (const alts of r.inputs) {
      const mapped: InputSpec[] = []
      for (const a of alts) {
        const p = add(a.record)
        if (p) mapped.push({ selector: a.selector, record: p })
      }
      if (mapped.length === 0) return undefined
      inputs.push(mapped)
    }
    const out = builder.addRecord(r.digest, inputs)
    done.set(r, out)
    return out
  }
  for (const r of graph.records) {
    const results = r.results.filter(keep)
    if (results.length === 0) continue
    const out = add(r)
    if (!out) continue
    for (const res of results) builder.addResult(out, res.chain, res.createdAt)
  }
}

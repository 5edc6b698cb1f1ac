/**
 * Incremental construction of a CacheGraph, normalised the way BuildKit's CacheChains.Add does
 * (cache/remotecache/v1/chains.go): roots are deduplicated by digest; a non-root whose digest is
 * already linked from one of the proposed parents of every input is reused (several such records
 * are merged); links that would close a cycle are skipped; identical layer descriptors and identical
 * result chains are stored once.
 */
import type { Descriptor } from '../../core/descriptor.ts'
import { type Digest, isDigest } from '../../core/digest.ts'
import { InvalidArgumentError } from '../../core/errors.ts'
import { checkLayerDescriptor, checkSameBlob } from './layer-check.ts'
import { compareTimes, normalizeTime } from './time.ts'
import type { CacheGraph, GraphInput, GraphRecord, LayerRef } from './types.ts'

export interface InputSpec {
  selector?: string
  record: GraphRecord
}

export class CacheGraphBuilder {
  readonly #records: GraphRecord[] = []
  readonly #layers = new Map<Digest, LayerRef>()
  /** parent → `${index}\0${selector}\0${childDigest}` → children */
  readonly #links = new Map<GraphRecord, Map<string, Set<GraphRecord>>>()
  readonly #kids = new Map<GraphRecord, Set<GraphRecord>>()

  /** The interned LayerRef for a descriptor (one per digest). */
  layer(desc: Descriptor | LayerRef): LayerRef {
    const d = 'blob' in desc ? desc.blob : desc
    checkLayerDescriptor(d, 'cache graph')
    const have = this.#layers.get(d.digest)
    if (have) {
      checkSameBlob(have.blob, d, 'cache graph')
      return have
    }
    const ref: LayerRef = { blob: d }
    this.#layers.set(d.digest, ref)
    return ref
  }

  /** Adds (or finds) the record for `digest` reached through `inputs` (per input index, the OR-list of parents). */
  addRecord(digest: Digest, inputs: readonly (readonly InputSpec[])[] = []): GraphRecord {
    if (!isDigest(digest)) throw new InvalidArgumentError(`cache graph: invalid record digest ${JSON.stringify(digest)}`)
    inputs.forEach((list, i) => {
      if (list.length === 0) throw new InvalidArgumentError(`cache graph: record ${digest} input ${i} has no parent record`)
      for (const p of list)
        if (!this.#links.has(p.record)) throw new InvalidArgumentError(`cache graph: record ${digest} input ${i} links to a record not added to this builder`)
    })
    if (inputs.length === 0) {
      const root = this.#records.find((r) => r.digest === digest && r.inputs.length === 0)
      if (root) return root
      return this.#create(digest)
    }
    let candidates: Set<GraphRecord> | undefined
    inputs.forEach((list, i) => {
      const union = new Set<GraphRecord>()
      for (const p of list) for (const c of this.#links.get(p.record)?.get(linkKey(i, p.selector ?? '', digest)) ?? []) union.add(c)
      candidates = candidates === undefined ? union : new Set([...candidates].filter((c) => union.has(c)))
    })
    const found = [...(candidates ?? [])].filter((c) => c.inputs.length === inputs.length)
    let target: GraphRecord
    if (found.length === 0) target = this.#create(digest, inputs.length)
    else {
      target = found[0] as GraphRecord
      for (const other of found.slice(1)) this.#merge(target, other)
    }
    inputs.forEach((list, i) => {
      for (const p of list) this.#link(p.record, target, i, p.selector ?? '')
    })
    return target
  }

  /** Stores a result (layer chain base → top) for a record; the same chain is stored once, newest time kept. */
  addResult(record: GraphRecord, chain: readonly (Descriptor | LayerRef)[], createdAt: string): void {
    if (!this.#links.has(record)) throw new InvalidArgumentError(`cache graph: result for record ${record.digest} not added to this builder`)
    if (chain.length === 0) throw new InvalidArgumentError(`cache graph: empty layer chain for record ${record.digest}`)
    const layers = chain.map((d) => this.layer(d))
    const time = normalizeTime(createdAt, `cache graph: result of record ${record.digest}`)
    const id = layers.map((l) => l.blob.digest).join(',')
    const same = record.results.find((r) => r.chain.map((l) => l.blob.digest).join(',') === id)
    if (same) {
      if (compareTimes(time, same.createdAt) > 0) same.createdAt = time
      return
    }
    record.results.push({ chain: layers, createdAt: time })
  }

  /** The graph built so far (records in insertion order; shares objects with the builder). */
  graph(): CacheGraph {
    return { records: [...this.#records] }
  }

  #create(digest: Digest, nInputs = 0): GraphRecord {
    const r: GraphRecord = { digest, inputs: Array.from({ length: nInputs }, () => []), results: [] }
    this.#records.push(r)
    this.#links.set(r, new Map())
    this.#kids.set(r, new Set())
    return r
  }

  #link(parent: GraphRecord, child: GraphRecord, index: number, selector: string): void {
    const list = child.inputs[index] as GraphInput[]
    if (list.some((x) => x.record === parent && x.selector === selector)) return
    if (parent === child || this.#isDescendant(child, parent)) return // cycle guard
    list.push({ selector, record: parent })
    const m = this.#links.get(parent) as Map<string, Set<GraphRecord>>
    const k = linkKey(index, selector, child.digest)
    m.set(k, (m.get(k) ?? new Set()).add(child))
    this.#kids.get(parent)?.add(child)
  }

  #isDescendant(of: GraphRecord, r: GraphRecord): boolean {
    const seen = new Set<GraphRecord>()
    const stack = [...(this.#kids.get(of) ?? [])]
    while (stack.length > 0) {
      const x = stack.pop() as GraphRecord
      if (x === r) return true
      if (seen.has(x)) continue
      seen.add(x)
      stack.push(...(this.#kids.get(x) ?? []))
    }
    return false
  }

  /** Folds `other` into `target`: its links, results and children move over; `other` disappears. */
  #merge(target: GraphRecord, other: GraphRecord): void {
    this.#records.splice(this.#records.indexOf(other), 1)
    for (const [, m] of this.#links) for (const set of m.values()) if (set.delete(other)) set.add(target)
    for (const set of this.#kids.values()) if (set.delete(other)) set.add(target)
    other.inputs.forEach((list, i) => {
      for (const p of list) this.#link(p.record, target, i, p.selector)
    })
    for (const child of this.#kids.get(other) ?? []) {
      child.inputs.forEach((list, i) => {
        for (const p of list) if (p.record === other) p.record = target
        child.inputs[i] = list.filter((x, j) => list.findIndex((y) => y.record === x.record && y.selector === x.selector) === j)
      })
      this.#kids.get(target)?.add(child)
    }
    for (const [k, set] of this.#links.get(other) ?? []) {
      const m = this.#links.get(target) as Map<string, Set<GraphRecord>>
      m.set(k, new Set([...(m.get(k) ?? []), ...set]))
    }
    this.#links.delete(other)
    this.#kids.delete(other)
    for (const res of other.results) this.addResult(target, res.chain, res.createdAt)
  }
}

const linkKey = (index: number, selector: string, digest: Digest): string => `${index}\0${selector}\0${digest}`

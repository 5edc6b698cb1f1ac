/**
 * Canonicalisation of an in-memory CacheGraph before encoding: every reachable record is collected,
 * structurally identical records (same digest, same alternative parents per input) are merged,
 * inputs are de-duplicated, and each record keeps only its best result (newest `createdAt`, ties
 * broken by the chain's digests so the choice does not depend on input order).
 */
import { createHash } from 'node:crypto'
import type { Descriptor } from '../../core/descriptor.ts'
import type { Digest } from '../../core/digest.ts'
import { InvalidArgumentError } from '../../core/errors.ts'
import { checkLayerDescriptor, checkSameBlob } from './layer-check.ts'
import { compareTimes, normalizeTime } from './time.ts'
import type { CacheGraph, GraphRecord, GraphResult } from './types.ts'

export interface CanonInput {
  selector: string
  record: CanonRecord
}

export interface CanonRecord {
  digest: Digest
  /** Structural identity: digest plus the identities of the parents of every input. */
  sid: string
  inputs: CanonInput[][]
  best: { chain: Descriptor[]; createdAt: string } | undefined
}

const cmp = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0)

export function canonicalize(graph: CacheGraph): { records: CanonRecord[]; blobs: Map<Digest, Descriptor> } {
  const sids = new Map<GraphRecord, string>()
  const visiting = new Set<GraphRecord>()
  const bySid = new Map<string, { rec: CanonRecord; results: GraphResult[] }>()
  const blobs = new Map<Digest, Descriptor>()

  const visit = (r: GraphRecord): CanonRecord => {
    const known = sids.get(r)
    if (known !== undefined) return (bySid.get(known) as { rec: CanonRecord }).rec
    if (visiting.has(r)) throw new InvalidArgumentError(`cache graph: record ${r.digest} is its own ancestor (cycle through its inputs)`)
    visiting.add(r)
    const inputs: CanonInput[][] = r.inputs.map((list, i) => {
      if (list.length === 0) throw new InvalidArgumentError(`cache graph: record ${r.digest} input ${i} has no parent record`)
      const seen = new Map<string, CanonInput>()
      for (const p of list) {
        const parent = visit(p.record)
        seen.set(`${p.selector}\0${parent.sid}`, { selector: p.selector, record: parent })
      }
      return [...seen.values()].sort((a, b) => cmp(a.selector, b.selector) || cmp(a.record.digest, b.record.digest) || cmp(a.record.sid, b.record.sid))
    })
    visiting.delete(r)
    const h = createHash('sha256').update(r.digest)
    for (const list of inputs) {
      h.update('\0[')
      for (const p of list) h.update(`\0${p.selector}\0${p.record.sid}`)
    }
    const sid = h.digest('hex')
    sids.set(r, sid)
    let entry = bySid.get(sid)
    if (!entry) {
      entry = { rec: { digest: r.digest, sid, inputs, best: undefined }, results: [] }
      bySid.set(sid, entry)
    }
    entry.results.push(...r.results)
    return entry.rec
  }
  for (const r of graph.records) visit(r)

  for (const { rec, results } of bySid.values()) {
    for (const res of results) {
      const what = `cache graph: result of record ${rec.digest}`
      if (res.chain.length === 0) throw new InvalidArgumentError(`${what}: empty layer chain`)
      const chain = res.chain.map((l) => {
        checkLayerDescriptor(l.blob, what)
        const have = blobs.get(l.blob.digest)
        if (have) checkSameBlob(have, l.blob, what)
        else blobs.set(l.blob.digest, l.blob)
        return l.blob
      })
      const cand = { chain, createdAt: normalizeTime(res.createdAt, what) }
      if (!rec.best || betterResult(cand, rec.best)) rec.best = cand
    }
  }
  return { records: [...bySid.values()].map((e) => e.rec), blobs }
}

function betterResult(a: { chain: Descriptor[]; createdAt: string }, b: { chain: Descriptor[]; createdAt: string }): boolean {
  const t = compareTimes(a.createdAt, b.createdAt)
  if (t !== 0) return t > 0
  return cmp(chainId(a.chain), chainId(b.chain)) < 0
}

/** A chain's identity as BuildKit computes it: blob digests from top to bottom. */
export function chainId(chain: readonly Descriptor[]): string {
  return chain
    .map((d) => d.digest)
    .reverse()
    .join('')
}

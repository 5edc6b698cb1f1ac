import { mapLimit } from '../../core/concurrency.ts'
import type { Descriptor } from '../../core/descriptor.ts'
import type { Digest } from '../../core/digest.ts'
import type { SolvedRecord } from '../../solver/solver.ts'
import { CacheGraphBuilder, type GraphRecord, type InputSpec } from '../format/index.ts'

/** One solved step, as the exporter sees it: its record, its inputs, and its result's layers. */
export interface ExportStep {
  id: string
  record: SolvedRecord
  /** Ids of the input steps, per dep (undefined where the input has no record, e.g. the build context). */
  inputs: readonly (string | undefined)[]
  /** Layer-store ids of the result chain, base → top (empty for a scratch result). */
  layers: readonly string[]
  /** True for ops without inputs (sources): they are records but never carry results. */
  isRoot: boolean
}

/** Layer blobs made or looked up at once by the graph builder. */
const BLOB_CONCURRENCY = 3

export interface GraphOptions {
  mode: 'min' | 'max'
  /** The steps whose results are the build's final results (mode=min keeps only their chains). */
  finals: readonly string[]
  /** The exported blob descriptor (with diffID and createdat annotations) of a layer. */
  layerBlob(layerId: string): Promise<Descriptor>
  createdAt(layerId: string): Promise<string>
}

/**
 * Turns the steps of a build into BuildKit's cache graph (solver/exporter.go semantics):
 * every step with a record becomes a record linked to its inputs' records (with selectors) and to
 * content-checksum roots (no selector); results are attached per mode — `max`: every non-root
 * step; `min`: the final results and the steps whose chain is a prefix of a final chain (the
 * blobs that exist anyway). A step one of whose inputs has no exportable parent is left out.
 */
export async function buildCacheGraph(steps: readonly ExportStep[], o: GraphOptions): Promise<{ builder: CacheGraphBuilder; blobs: Map<string, Descriptor> }> {
  const builder = new CacheGraphBuilder()
  const recordOf = new Map<string, GraphRecord>()
  const byId = new Map(steps.map((s) => [s.id, s]))
  const blobs = new Map<string, Descriptor>()
  const finalChains = o.finals.map((id) => byId.get(id)?.layers ?? [])
  const isPrefixOfFinal = (layers: readonly string[]) =>
    layers.length > 0 && finalChains.some((f) => f.length >= layers.length && layers.every((l, i) => f[i] === l))

  const add = (step: ExportStep): GraphRecord | undefined => {
    const done = recordOf.get(step.id)
    if (done) return done
    const inputs: InputSpec[][] = []
    for (const [i, dep] of step.record.deps.entries()) {
      const alts: InputSpec[] = []
      const inputId = step.inputs[i]
      const parentStep = inputId !== undefined ? byId.get(inputId) : undefined
      if (dep.input && parentStep) {
        const parent = add(parentStep)
        if (parent) alts.push({ selector: dep.selector ?? '', record: parent })
      }
      if (dep.content) alts.push({ selector: '', record: builder.addRecord(dep.content as Digest) })
      if (alts.length === 0) return undefined
      inputs.push(alts)
    }
    const rec = builder.addRecord(step.record.digest, inputs)
    recordOf.set(step.id, rec)
    return rec
  }

  const wanted: { step: ExportStep; rec: GraphRecord }[] = []
  for (const step of steps) {
    const rec = add(step)
    if (!rec || step.isRoot || step.layers.length === 0) continue
    if (o.mode === 'max' || o.finals.includes(step.id) || isPrefixOfFinal(step.layers)) wanted.push({ step, rec })
  }
  // every blob at once (a few at a time): a layer still being packed elsewhere does not hold up the others
  const ids = [...new Set(wanted.flatMap((w) => w.step.layers))]
  const descs = await mapLimit(ids, BLOB_CONCURRENCY, (id) => o.layerBlob(id))
  for (const [i, id] of ids.entries()) blobs.set(id, descs[i] as Descriptor)
  for (const { step, rec } of wanted) {
    const chain = step.layers.map((id) => blobs.get(id) as Descriptor)
    builder.addResult(rec, chain, await o.createdAt(step.layers[step.layers.length - 1] as string))
  }
  return { builder, blobs }
}

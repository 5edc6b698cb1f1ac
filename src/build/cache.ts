import { ImportedCache } from '../cache/remote/importer.ts'
import { exportCache, type CacheExportResult } from '../cache/remote/exporter.ts'
import type { ExportStep } from '../cache/remote/build-graph.ts'
import { readCacheRef } from '../cache/remote/read-ref.ts'
import type { CacheTransport } from '../cache/remote/transport.ts'
import type { CacheExportSpec, CacheImportSpec } from '../cache/spec/types.ts'
import { CairnError } from '../core/errors.ts'
import type { BuildRef } from '../ops/build-ref.ts'
import type { BuildEvent } from '../progress/events.ts'
import type { Solver } from '../solver/solver.ts'
import type { BlobPlan } from '../snapshot/layer-store.ts'
import type { State } from './state.ts'

/** Makes the transport of a cache spec (the composition root decides which backends exist). */
export type TransportFactory = (spec: CacheExportSpec | CacheImportSpec, direction: 'export' | 'import') => Promise<CacheTransport>

/**
 * The names a spec reads or writes: the tag of a local/registry cache, the names of s3/azblob, the
 * scope of gha. An s3 import reads only the first of `name=a;b`, as BuildKit's does (azblob merges all).
 */
export function refNames(spec: CacheExportSpec | CacheImportSpec, direction: 'export' | 'import'): string[] {
  switch (spec.type) {
    case 'local':
      return 'digest' in spec && spec.digest ? [spec.digest] : [spec.tag]
    case 'registry':
      return [spec.ref]
    case 's3':
      return direction === 'import' ? spec.names.slice(0, 1) : spec.names
    case 'azblob':
      return spec.names
    case 'gha':
      return [spec.scope]
    case 'inline':
      return []
  }
}

export const describeSpec = (spec: CacheExportSpec | CacheImportSpec): string => {
  switch (spec.type) {
    case 'local':
      return `local:${'dest' in spec ? spec.dest : spec.src}`
    case 'registry':
      return `registry:${spec.ref}`
    case 's3':
      return `s3://${spec.bucket}/${spec.prefix}`
    case 'azblob':
      return `azblob:${spec.container}/${spec.prefix}`
    case 'gha':
      return `gha:${spec.scope}`
    case 'inline':
      return 'inline'
  }
}

/**
 * Imports every `--cache-from` (all merged into lookups, newest result wins per key). An import that
 * cannot be read is a warning, not a failed build: the steps it would have answered just run.
 */
export async function importCaches(
  specs: readonly CacheImportSpec[],
  makeTransport: TransportFactory,
  state: State,
  emit: (ev: BuildEvent) => void,
  signal: AbortSignal,
): Promise<ImportedCache[]> {
  const out: ImportedCache[] = []
  const warn = (message: string) => emit({ type: 'warning', rule: 'CacheImport', message, at: Date.now() })
  for (const spec of specs) {
    const name = describeSpec(spec)
    const id = `import:${name}`
    const start = Date.now()
    emit({ type: 'export.start', id, name: `importing cache manifest from ${name}`, at: start })
    try {
      const transport = await makeTransport(spec, 'import')
      const cache = new ImportedCache(name, transport, state.layers, warn)
      let found = 0
      for (const ref of refNames(spec, 'import')) {
        const content = await readCacheRef(transport, ref, signal)
        if (!content) continue
        cache.add(content.graph)
        found++
      }
      if (found === 0) warn(`cache ${name}: nothing found (first build with this cache?)`)
      out.push(cache)
      emit({ type: 'export.done', id, name: `importing cache manifest from ${name}`, durationMs: Date.now() - start, at: Date.now() })
    } catch (err) {
      if (signal.aborted) throw err
      const message = err instanceof Error ? err.message : String(err)
      warn(`failed to import cache ${name}: ${message}`)
      emit({ type: 'export.done', id, name: `importing cache manifest from ${name}`, durationMs: Date.now() - start, at: Date.now(), error: message })
    }
  }
  return out
}

/** How a cache export compresses its layers (gzip at the default level for types without the attributes). */
export function compressionPlan(spec: CacheExportSpec): BlobPlan {
  if (!('compression' in spec)) return { compression: 'gzip', force: false }
  return { compression: spec.compression, ...(spec.compressionLevel !== undefined ? { level: spec.compressionLevel } : {}), force: spec.forceCompression }
}

/** The first `--cache-to` with mode=max: its layers are all packed during the build (see Prepacker). */
export function prepackedExport(cacheTo: readonly CacheExportSpec[]): CacheExportSpec | undefined {
  return cacheTo.find((c) => c.type !== 'inline' && c.mode === 'max')
}

/** The build's solved steps in the exporter's terms. */
export async function exportSteps(solver: Solver<BuildRef>): Promise<ExportStep[]> {
  const steps: ExportStep[] = []
  for (const { vertex, solved } of await solver.solvedSteps()) {
    if (!solved.record) continue
    steps.push({
      id: vertex.id,
      record: solved.record,
      inputs: vertex.inputs.map((i) => i.id),
      layers: solved.ref?.kind === 'layers' ? solved.ref.layers : [],
      isRoot: vertex.inputs.length === 0,
    })
  }
  return steps
}

/** Runs every `--cache-to`; with `ignore-error=true` a failure is a warning. */
export async function exportCaches(
  specs: readonly CacheExportSpec[],
  steps: readonly ExportStep[],
  finals: readonly string[],
  makeTransport: TransportFactory,
  state: State,
  emit: (ev: BuildEvent) => void,
  signal: AbortSignal,
): Promise<Record<string, CacheExportResult>> {
  const results: Record<string, CacheExportResult> = {}
  for (const spec of specs) {
    if (spec.type === 'inline') continue // written into the image config by the image exporter
    const name = describeSpec(spec)
    const id = `cache-export:${name}`
    const label = `exporting cache to ${name} (mode=${spec.mode})`
    const start = Date.now()
    emit({ type: 'export.start', id, name: label, at: start })
    try {
      const transport = await makeTransport(spec, 'export')
      const withWrap = 'imageManifest' in spec ? { wrap: { ociMediaTypes: spec.ociMediaTypes, imageManifest: spec.imageManifest } } : {}
      results[name] = await exportCache(
        steps,
        finals,
        transport,
        {
          mode: spec.mode,
          blobs: compressionPlan(spec),
          refs: refNames(spec, 'export'),
          ...withWrap,
          merge: spec.attrs.merge !== 'false',
          now: new Date(),
        },
        { layers: state.layers, signal },
      )
      emit({ type: 'export.done', id, name: label, durationMs: Date.now() - start, at: Date.now() })
    } catch (err) {
      const message = err instanceof Error ? err.message : String(err)
      emit({ type: 'export.done', id, name: label, durationMs: Date.now() - start, at: Date.now(), error: message })
      if (signal.aborted) throw err
      if (spec.ignoreError) {
        emit({ type: 'warning', rule: 'CacheExport', message: `failed to export cache to ${name} (ignored, ignore-error=true): ${message}`, at: Date.now() })
        continue
      }
      throw new CairnError('ERR_CACHE_EXPORT', `failed to export cache to ${name}: ${message}`, {
        hint: (err as CairnError).hint ?? 'fix the destination, or add ignore-error=true to the --cache-to spec to make export failures warnings',
        cause: err,
      })
    }
  }
  return results
}

/**
 * Packs and compresses the layers a mode=max cache export will need while the build goes on: each
 * new layer as soon as its step is done, one at a time, on a worker thread when the layer store has
 * one (so on the core the running step leaves idle, not on the main thread the steps need).
 * The export then finds the blobs made (LayerStore.ensureBlob is shared by key and reuses finished
 * blobs). A failed prepack costs nothing but the attempt: the export packs that layer again itself.
 */
export class Prepacker {
  readonly #layers: State['layers']
  readonly #plan: BlobPlan | undefined
  readonly #ac = new AbortController()
  readonly #seen = new Set<string>()
  /** Inherited layers held back until the build made a layer of its own. */
  readonly #inherited: string[] = []
  #madeOne = false
  #chain: Promise<void> = Promise.resolve()

  constructor(cacheTo: readonly CacheExportSpec[], layers: State['layers']) {
    this.#layers = layers
    const spec = prepackedExport(cacheTo)
    if (spec) this.#plan = compressionPlan(spec)
  }

  /**
   * Queues the layers not queued before. Layers a build did not make (a base image's, seen as the
   * result of a FROM) wait until the first layer the build made is queued: the first step after a
   * FROM keeps the main thread busy (a COPY), while the step after it (a RUN) leaves a core idle.
   */
  add(ids: readonly string[], inherited = false): void {
    if (!this.#plan) return
    const fresh = ids.filter((id) => !this.#seen.has(id))
    for (const id of fresh) this.#seen.add(id)
    if (inherited && !this.#madeOne) {
      this.#inherited.push(...fresh)
      return
    }
    for (const id of fresh) this.#queue(id)
    if (!inherited && fresh.length > 0 && !this.#madeOne) {
      this.#madeOne = true
      for (const id of this.#inherited.splice(0)) this.#queue(id)
    }
  }

  #queue(id: string): void {
    const plan = this.#plan as BlobPlan
    this.#chain = this.#chain.then(async () => {
      if (this.#ac.signal.aborted) return
      await this.#layers.exportBlob(id, plan, this.#ac.signal, { offThread: true }).then(() => undefined, () => undefined)
    })
  }

  /** Stops what is still queued (the build is over: exported, or failed). */
  stop(): void {
    this.#ac.abort()
  }
}

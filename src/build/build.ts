import { readFile, stat } from 'node:fs/promises'
import { join, resolve } from 'node:path'
import type { Platform } from '../core/descriptor.ts'
import { sha256 } from '../core/digest.ts'
import { InvalidArgumentError, NotFoundError } from '../core/errors.ts'
import { convertDockerfile } from '../dockerfile/convert/convert.ts'
import { parse } from '../dockerfile/parser/index.ts'
import type { Executor } from '../executor/executor.ts'
import { finalizeImage } from '../export/image.ts'
import { exportRootfs } from '../export/local-dir.ts'
import type { OutputSpec } from '../export/output-spec.ts'
import type { BuildRef } from '../ops/build-ref.ts'
import { createCacheMountStore } from '../ops/cache-mounts/store.ts'
import { createImageResolver } from '../ops/image-resolver.ts'
import { HttpSourceOp } from '../ops/http-source.ts'
import { createLocalCache } from '../ops/local-cache.ts'
import type { BuildEvent } from '../progress/events.ts'
import { Solver } from '../solver/solver.ts'
import type { Vertex } from '../solver/types.ts'
import type { CacheExportSpec, CacheImportSpec } from '../cache/spec/types.ts'
import { compressionPlan, exportCaches, exportSteps, importCaches, Prepacker, type TransportFactory } from './cache.ts'
import { makeChecksum } from './checksum.ts'
import { MissExplainer, type StepMemory } from './explain.ts'
import { exportImage } from './outputs.ts'
import type { RegistryClient } from '../registry/index.ts'
import { createContextRef, loadIgnorePatterns } from './context.ts'
import type { State } from './state.ts'
import { secretWarnings } from '../secrets/checks.ts'
import { type GuardStep, scanBeforeExport } from '../secrets/export-guard.ts'
import { isSecretLeak, type LeakGuard } from '../secrets/leak-guard.ts'
import type { SecretStore } from '../secrets/store.ts'
import { reapStaleMounts } from '../snapshot/mount-dirs.ts'

export interface BuildOptions {
  contextDir: string
  dockerfile?: string
  tags: string[]
  buildArgs: Map<string, string>
  target?: string
  noCache: boolean
  labels: Record<string, string>
  outputs: OutputSpec[]
  namedContexts: Map<string, string>
  platform: Platform
  /** SOURCE_DATE_EPOCH, when set. */
  epoch?: number
  cacheFrom: CacheImportSpec[]
  cacheTo: CacheExportSpec[]
}

export interface BuildDeps {
  state: State
  executor: Executor
  /** Opens cache backends for --cache-from / --cache-to. */
  transports: TransportFactory
  /** Pulls base images and pushes results; without it, only local images are used. */
  registry?: RegistryClient
  emit(ev: BuildEvent): void
  signal: AbortSignal
  /** `--secret` values for RUN --mount=type=secret. */
  secrets?: SecretStore
  /** Scans layers for secret values before export (the same guard the layer store's scanner comes from). */
  leakGuard?: LeakGuard
}

export interface StepRecord {
  name: string
  cached: boolean
  source?: string
  /** For a step that ran: why it was not cached. */
  reason?: string
  durationMs: number
}

export interface BuildResult {
  metadata: Record<string, unknown>
  steps: StepRecord[]
  /** What the result depended on beyond the context and the Dockerfile (for the no-op memo). */
  inputs: {
    /** False when the build read anything from the network (a registry base image, an ADD of a URL) or a layout. */
    local: boolean
    /** Base images resolved from cairn's image store: name → manifest digest. */
    images: Record<string, string>
  }
}

/**
 * Builds a Dockerfile: parse, convert to a graph, solve against the cache, export the outputs.
 * A layer found to hold a secret is dropped from disk (its step reruns next time) and the build fails.
 */
export async function build(o: BuildOptions, d: BuildDeps): Promise<BuildResult> {
  try {
    return await buildOnce(o, d)
  } catch (err) {
    if (isSecretLeak(err)) await d.state.layers.snapshotter.remove(err.layerId).catch(() => {})
    throw err
  }
}

async function buildOnce(o: BuildOptions, d: BuildDeps): Promise<BuildResult> {
  const { state, signal } = d
  await reapStaleMounts(state.workDir)
  const contextDir = resolve(o.contextDir)
  const cst = await stat(contextDir).catch(() => undefined)
  if (!cst?.isDirectory()) throw new NotFoundError(`build context ${o.contextDir}: not a directory`, { code: 'ERR_CONTEXT_NOT_FOUND', hint: 'pass the directory that holds your sources as the last argument, e.g. `cairn build .`' })
  const dockerfilePath = o.dockerfile ? resolve(o.dockerfile) : join(contextDir, 'Dockerfile')
  const file = o.dockerfile ?? 'Dockerfile'
  const text = await readFile(dockerfilePath, 'utf8').catch(() => {
    throw new NotFoundError(`failed to read Dockerfile: ${dockerfilePath}: no such file`, { code: 'ERR_DOCKERFILE_NOT_FOUND', hint: 'pass its path with -f, or put a Dockerfile at the root of the context' })
  })
  const parsed = parse(text, { file })
  const syntax = parsed.directives.syntax
  if (syntax && !/^(docker\.io\/)?docker\/dockerfile(-upstream)?(:[\w.-]+)?(@sha256:[a-f0-9]{64})?$/.test(syntax)) {
    throw new InvalidArgumentError(`${file}: syntax=${syntax}: cairn has a built-in Dockerfile frontend and cannot run other frontends`, { hint: 'remove the # syntax= line or point it at docker/dockerfile:1' })
  }

  const patterns = await loadIgnorePatterns(contextDir, dockerfilePath)
  const checksum = makeChecksum(state)
  const context = createContextRef(contextDir, patterns, checksum.context)
  const inputs: BuildResult['inputs'] = { local: true, images: {} }
  const storeResolver = createImageResolver({ store: state.images, namedContexts: o.namedContexts, ...(d.registry ? { registry: d.registry } : {}) })
  const resolver: typeof storeResolver = {
    async resolve(ref, platform, sig) {
      const img = await storeResolver.resolve(ref, platform, sig)
      // an image with its own blob source came from a registry or a layout, not from the store
      if (img.blobSource || o.namedContexts.size > 0) inputs.local = false
      else inputs.images[img.ref] = img.digest
      return img
    },
  }
  const conv = await convertDockerfile({
    file, parsed, buildArgs: o.buildArgs, ...(o.target !== undefined ? { target: o.target } : {}), platform: o.platform, context, resolver,
    layers: state.layers, executor: d.executor, workDir: state.workDir, checksum: checksum.ref, labels: o.labels, signal,
    cacheMounts: createCacheMountStore(join(state.root, 'cachemounts')),
    ...(d.secrets ? { secrets: d.secrets } : {}),
  })
  if (d.secrets) for (const w of secretWarnings(o.buildArgs, d.secrets)) d.emit({ type: 'warning', ...w, at: Date.now() })
  for (const w of conv.warnings) d.emit({ type: 'warning', rule: w.rule, message: w.range ? `${file}:${w.range.startLine}: ${w.message}` : w.message, at: Date.now() })
  if (conv.checkError) throw conv.checkError

  const stepsById = new Map<string, StepRecord>()
  // "Why was this step not cached?": each miss is compared with the previous build of the same configuration.
  const explainer = await new MissExplainer(join(state.root, 'explain', `${sha256([contextDir, dockerfilePath, o.target ?? ''].join('\0')).slice(7, 31)}.json`)).load()
  const reasons = new Map<string, string>()
  const imported = await importCaches(o.cacheFrom, d.transports, state, d.emit, signal)
  const cache = createLocalCache(state.cacheDir, state.layers, imported)
  // with a mode=max --cache-to, each new layer is packed as soon as its step is done, while later steps run;
  // not with secrets: the leak guard scans layers before export and names the step that leaked
  const prepack = new Prepacker(d.leakGuard?.active ? [] : o.cacheTo, state.layers)
  try {
    const solver = new Solver<BuildRef>({
      cache,
      noCache: o.noCache,
      materialize: async (ref, sig) => {
        if (ref.kind === 'layers') for (const id of ref.layers) await state.layers.ensureSnapshot(id, sig)
        return ref
      },
      emit: (ev) => {
        // a later event for the same step wins (a cached result that had to be recomputed)
        if (ev.type === 'vertex.miss' && ev.record) {
          const reason = explainer.explain(ev.id, { name: ev.name, ...(ev.record.description !== undefined ? { description: ev.record.description } : {}), deps: ev.record.deps, inputs: ev.inputs ?? [] })
          reasons.set(ev.id, reason)
          d.emit(ev)
          d.emit({ type: 'vertex.explain', id: ev.id, name: ev.name, reason, at: ev.at })
          return
        }
        if (ev.type === 'vertex.done') {
          const reason = ev.cached ? undefined : reasons.get(ev.id)
          stepsById.set(ev.id, { name: ev.name, cached: ev.cached, ...(ev.source ? { source: ev.source } : {}), ...(reason ? { reason } : {}), durationMs: ev.durationMs })
        }
        d.emit(ev)
      },
      onResult: (v, ref) => {
        if (ref.kind === 'layers') prepack.add(ref.layers, v.inputs.length === 0)
      },
    })
    // outputs that need only blobs (images, pushes, archives) do not extract the final result's layers
    const blobsOnly = o.outputs.every((x) => x.type !== 'local')
    const verify = async (ref: BuildRef, sig: AbortSignal) => {
      if (ref.kind === 'layers') for (const id of ref.layers) await state.layers.verifyLayer(id, sig)
      return ref
    }
    const finalRef = conv.target ? await solver.build(conv.target, signal, blobsOnly ? { materialize: verify } : {}) : undefined
    await checksum.flush()
    const layerIds = finalRef?.kind === 'layers' ? finalRef.layers : []
    if (d.leakGuard?.active) await guardExports(d.leakGuard, solver, layerIds, o.cacheTo, state, signal)

    const metadata: Record<string, unknown> = {}
    const imageOutputs = o.outputs.filter((x) => x.type !== 'cacheonly')
    const finals = conv.target ? [conv.target.id] : []
    const exportCachesNow = () => exportSteps(solver).then((steps) => exportCaches(o.cacheTo, steps, finals, d.transports, state, d.emit, signal))
    const writeImageOutputs = async (): Promise<void> => {
      if (imageOutputs.length === 0) return
      const refOf = async (v: Vertex<BuildRef> | undefined): Promise<readonly string[] | undefined> => {
        if (!v) return []
        const r = (await solver.solve(v, signal)).ref
        return r === undefined ? undefined : r.kind === 'layers' ? r.layers : []
      }
      // the final layers' diffIDs come from packing them as a --cache-to will want them (not from a second walk)
      const cacheBlobs = o.cacheTo.find((c) => c.type !== 'inline')
      const img = await finalizeImage(conv.config, layerIds, conv.history, refOf, state.layers, signal, o.epoch, cacheBlobs && compressionPlan(cacheBlobs))
      const wantsInline = o.cacheTo.some((c) => c.type === 'inline')
      const inline = wantsInline && conv.target ? { steps: await exportSteps(solver), finals: [conv.target.id] } : undefined
      for (const out of imageOutputs) {
        const id = `export:${out.type}`
        const start = Date.now()
        const name = out.type === 'local' ? `exporting to directory ${out.dest}` : out.type === 'image' ? 'exporting to image' : `exporting to ${out.type} image format ${out.dest}`
        d.emit({ type: 'export.start', id, name, at: start })
        try {
          if (out.type === 'local') await exportRootfs(state, img.layerIds, resolve(out.dest), signal)
          else Object.assign(metadata, await exportImage(out, img.layerIds, img.config, o.tags, { state, signal, ...(d.registry ? { registry: d.registry } : {}), ...(inline ? { inline } : {}) }))
        } catch (err) {
          d.emit({ type: 'export.done', id, name, durationMs: Date.now() - start, at: Date.now(), error: (err as Error).message })
          throw err
        }
        d.emit({ type: 'export.done', id, name, durationMs: Date.now() - start, at: Date.now() })
      }
    }
    // Cache exports run beside the image outputs (they share the packed layers, and mostly wait on
    // the disk or the network), except beside a push: then the image goes first, so that a cache in
    // the same registry finds its layers there instead of uploading them a second time.
    const pushes = imageOutputs.some((x) => x.type === 'image' && x.push)
    const caches = o.cacheTo.length > 0 && !pushes ? exportCachesNow() : undefined
    caches?.catch(() => undefined) // awaited below; an image output's failure must not leave it unobserved
    try {
      await writeImageOutputs()
    } catch (err) {
      await caches?.catch(() => undefined)
      throw err
    }
    if (o.cacheTo.length > 0) metadata['cairn.cache.exports'] = await (caches ?? exportCachesNow())
    const memory: [string, StepMemory][] = []
    for (const { vertex, solved } of await solver.solvedSteps()) {
      if (!solved.record || vertex.internal) continue
      const r = solved.record
      memory.push([vertex.id, { name: vertex.name, ...(r.description !== undefined ? { description: r.description } : {}), deps: r.deps, inputs: vertex.inputs.map((i) => i.name) }])
    }
    await explainer.save(memory)
    const steps = [...stepsById.values()]
    metadata['cairn.steps'] = steps
    if (conv.target && readsUrls(conv.target)) inputs.local = false
    return { metadata, steps, inputs }
  } finally {
    prepack.stop()
  }
}

/** Whether the graph fetches anything by URL (ADD https://…), which a later build must fetch again. */
function readsUrls(target: Vertex<BuildRef>): boolean {
  const seen = new Set<Vertex<BuildRef>>()
  const stack = [target]
  while (stack.length > 0) {
    const v = stack.pop() as Vertex<BuildRef>
    if (seen.has(v)) continue
    seen.add(v)
    if (v.op instanceof HttpSourceOp) return true
    stack.push(...v.inputs)
  }
  return false
}

/** Scans, before anything is exported, every layer the outputs and cache exports will carry. */
async function guardExports(guard: LeakGuard, solver: Solver<BuildRef>, finalLayers: readonly string[], cacheTo: readonly CacheExportSpec[], state: State, signal: AbortSignal): Promise<void> {
  const steps: GuardStep[] = []
  for (const { vertex, solved } of await solver.solvedSteps()) {
    const origin = (vertex.op as { spec?: { origin?: unknown } }).spec?.origin
    steps.push({
      id: vertex.id,
      name: vertex.name,
      ...(typeof origin === 'string' ? { origin } : {}),
      inputs: vertex.inputs.map((i) => i.id),
      layers: solved.ref?.kind === 'layers' ? solved.ref.layers : [],
    })
  }
  const plans = cacheTo
    .filter((c) => c.type !== 'inline')
    .map((c) => ({ max: c.mode === 'max', ...compressionPlan(c) }))
  await scanBeforeExport(guard, state.layers, steps, finalLayers, plans, signal)
}

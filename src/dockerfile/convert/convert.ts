import type { Platform } from '../../core/descriptor.ts'
import { sha256 } from '../../core/digest.ts'
import { CairnError, DockerfileError, type SourceRange } from '../../core/errors.ts'
import type { Executor } from '../../executor/executor.ts'
import type { HistoryEntry, ImageConfig } from '../../oci/types.ts'
import type { BuildRef, ContextRef } from '../../ops/build-ref.ts'
import type { CacheMountStore } from '../../ops/cache-mounts/store.ts'
import type { ContentChecksum } from '../../ops/file-op.ts'
import type { ImageResolver, ResolvedImage } from '../../ops/image-resolver.ts'
import { ContextSourceOp, ImageSourceOp } from '../../ops/source-ops.ts'
import type { LayerStore } from '../../snapshot/layer-store.ts'
import type { SecretStore } from '../../secrets/store.ts'
import type { Vertex } from '../../solver/types.ts'
import type { Instruction, Stage } from '../instructions/index.ts'
import { parseInstructions } from '../instructions/index.ts'
import type { ParseResult } from '../parser/index.ts'
import { envGetter, ShellLex } from '../shell/index.ts'
import { applyChecks, fromChecks, parseCheckDirective, undefinedVarMessage } from './checks.ts'
import { dispatchCopy } from './convert-copy.ts'
import { dispatchRun } from './convert-run.ts'
import { dispatchConfig } from './dispatch-config.ts'
import type { PendingHistory } from './history.ts'
import { platformArgs } from './platform-args.ts'
import { childState, imageState, onbuildTriggers, scratchState } from './stage-base.ts'
import type { Conv, ConvertWarning, StageState } from './state.ts'

export interface ConvertOptions {
  file: string
  parsed: ParseResult
  buildArgs: ReadonlyMap<string, string>
  target?: string
  platform: Platform
  context: ContextRef
  resolver: ImageResolver
  layers: LayerStore
  executor: Executor
  workDir: string
  checksum: ContentChecksum
  /** Where `RUN --mount=type=cache` directories live; without it such mounts fail. */
  cacheMounts?: CacheMountStore
  /** The build's secrets, for `RUN --mount=type=secret` (without it, every secret is missing). */
  secrets?: SecretStore
  /** For ADD <url> (defaults to the global fetch). */
  fetch?: typeof globalThis.fetch
  labels?: Readonly<Record<string, string>>
  signal: AbortSignal
}

export type { ConvertWarning } from './state.ts'

export interface ConvertResult {
  /** The target stage's last vertex; undefined for a target that is only `FROM scratch`. */
  target: Vertex<BuildRef> | undefined
  /** Image config without rootfs (filled in after solving). */
  config: ImageConfig
  history: { base: HistoryEntry[]; pending: PendingHistory[] }
  /** Warnings to show once each (build checks after `# check=skip`, and informational ones). */
  warnings: ConvertWarning[]
  /** With `# check=error=true` and check warnings: the error to fail the build with, after showing the warnings. */
  checkError?: CairnError
  stageName: string
}

const OP_KINDS = new Set(['run', 'copy', 'add', 'workdir'])
/** Variables BuildKit never reports as undefined. */
const NON_ENV_ARGS = new Set(['SOURCE_DATE_EPOCH', 'BUILDKIT_SBOM_SCAN_CONTEXT', 'BUILDKIT_SBOM_SCAN_STAGE'])

/** Turns a parsed Dockerfile into a build graph for the solver, and the image config of the target stage. */
export async function convertDockerfile(o: ConvertOptions): Promise<ConvertResult> {
  const { metaArgs, stages, warnings: instrWarnings } = parseInstructions(o.parsed, { file: o.file })
  const warnings: ConvertWarning[] = [...instrWarnings].map((w) => ({ rule: w.rule, message: w.message, range: w.range }))
  const checkCfg = parseCheckDirective(o.buildArgs.get('BUILDKIT_DOCKERFILE_CHECK') ?? o.parsed.directives.check, { file: o.file, startLine: 1, endLine: 1 })
  const lex = new ShellLex(o.parsed.escapeToken)
  const rawLex = new ShellLex('\\', { skipProcessQuotes: true })
  const where = (r: SourceRange): SourceRange => ({ ...r, file: o.file })
  const fail = (msg: string, r: SourceRange, hint?: string): never => {
    throw new DockerfileError(msg, where(r), hint ? { hint } : {})
  }
  const expandMeta = (word: string, env: Map<string, string>, r: SourceRange): string => {
    try {
      return lex.processWord(word, envGetter(env)).word
    } catch (err) {
      return fail((err as Error).message, r)
    }
  }
  const expandWith = (l: ShellLex, st: StageState, word: string, r: SourceRange): string => {
    let res: ReturnType<ShellLex['processWord']>
    try {
      res = l.processWord(word, envGetter(st.env.run))
    } catch (err) {
      return fail((err as Error).message, r)
    }
    for (const name of res.unmatched) {
      if (st.declaredArgs.has(name) || NON_ENV_ARGS.has(name)) continue
      warnings.push({ rule: 'UndefinedVar', message: undefinedVarMessage(name, st.env.run.keys()), range: where(r) })
    }
    return res.word
  }

  // Global ARGs (before the first FROM), after the predefined platform ARGs; --build-arg overrides.
  const meta = platformArgs(o.platform)
  const defaults = platformArgs(o.platform)
  const declared = new Set(meta.keys())
  const usedArgs = new Set<string>()
  for (const a of metaArgs) {
    for (const kv of a.args) {
      declared.add(kv.key)
      const given = o.buildArgs.get(kv.key)
      if (given !== undefined) usedArgs.add(kv.key)
      const v = given ?? (kv.value !== undefined ? expandMeta(kv.value, meta, a.range) : undefined)
      if (v !== undefined) meta.set(kv.key, v)
      const d = kv.value !== undefined ? expandMeta(kv.value, defaults, a.range) : undefined
      if (d !== undefined) defaults.set(kv.key, d)
    }
  }
  warnings.push(...fromChecks(stages, lex, declared, meta, defaults))

  if (stages.length === 0)
    throw new DockerfileError(
      'the Dockerfile has no FROM instruction',
      { file: o.file, startLine: 1, endLine: 1 },
      { hint: 'start each stage with FROM <image> (or FROM scratch)' },
    )
  const byName = new Map<string, number>()
  for (const [i, s] of stages.entries()) if (s.name) byName.set(s.name.toLowerCase(), i)
  let targetIdx = stages.length - 1
  if (o.target !== undefined) {
    const t = byName.get(o.target.toLowerCase())
    if (t === undefined) {
      const names = stages
        .map((s) => s.name)
        .filter(Boolean)
        .join(', ')
      throw new CairnError('ERR_TARGET_NOT_FOUND', `target stage "${o.target}" could not be found in ${o.file}`, {
        hint: names ? `stages are: ${names}` : 'name a stage with FROM <image> AS <name>',
      })
    }
    targetIdx = t
  }

  let contextVertex: Vertex<BuildRef> | undefined
  let scratch: Vertex<BuildRef> | undefined
  const images = new Map<string, Promise<{ img: ResolvedImage; vertex: Vertex<BuildRef> }>>()
  const built = new Map<number, Promise<StageState>>()
  const shellLines = new Set<number>()
  let nextId = 0
  const stageLabel = (s: Stage) => s.name ?? `stage-${s.index}`
  const stageRef = (word: string, before: number): number | undefined => {
    const named = byName.get(word.toLowerCase())
    if (named !== undefined && named < before) return named
    if (/^\d+$/.test(word) && Number(word) < before) return Number(word)
    return undefined
  }

  const c: Conv = {
    file: o.file,
    fail,
    expand: (st, word, r) => expandWith(lex, st, word, r),
    expandRaw: (st, word, r) => expandWith(rawLex, st, word, r),
    warn: (w) => warnings.push({ ...w, ...(w.range ? { range: where(w.range) } : {}) }),
    metaArg: (name) => meta.get(name),
    shellSet: (line) => shellLines.add(line),
    context: () => {
      contextVertex ??= { id: 'context', name: '[internal] load build context', op: new ContextSourceOp(o.context), inputs: [], internal: true }
      return contextVertex
    },
    scratch: () => {
      scratch ??= {
        id: 'scratch',
        name: '[internal] scratch',
        op: { cacheMap: async () => ({ digest: sha256('buildkit.source.v0:scratch'), deps: [] }), exec: async () => ({ kind: 'layers', layers: [] }) },
        inputs: [],
        internal: true,
      }
      return scratch
    },
    image: (ref, r) => {
      let p = images.get(ref)
      if (!p) {
        p = o.resolver.resolve(ref, o.platform, o.signal).then((img) => ({
          img,
          vertex: {
            id: `image:${img.ref}@${img.digest}`,
            name: `[internal] load metadata for ${img.ref}`,
            op: new ImageSourceOp(img, o.layers),
            inputs: [],
            internal: true,
          },
        }))
        images.set(ref, p)
      }
      return p.catch((err: unknown) => {
        if (err instanceof CairnError) throw new DockerfileError(err.message, where(r), { code: err.code, ...(err.hint ? { hint: err.hint } : {}), cause: err })
        throw err
      })
    },
    source: async (from, idx, chain, r) => {
      const sidx = stageRef(from, idx)
      if (sidx !== undefined) return (await buildStage(sidx, chain)).vertex ?? c.scratch()
      if (byName.has(from.toLowerCase())) fail(`stage "${from}" is defined after this instruction`, r)
      return (await c.image(from, r)).vertex
    },
    id: (idx, what) => `s${idx}-${what}-${nextId++}`,
    nextName: (st, text) => {
      st.step++
      return `[${stageLabel(st.stage)} ${st.step}/${st.total}] ${text}`
    },
    addVertex: (st, v, createdBy) => {
      st.pending.push({ createdBy, vertex: v, input: st.vertex })
      st.vertex = v
    },
  }

  const buildStage = (idx: number, chain: number[]): Promise<StageState> => {
    if (chain.includes(idx)) {
      const s = stages[idx] as Stage
      return Promise.reject(new DockerfileError(`circular dependency detected on stage: ${stageLabel(s)}`, where(s.range)))
    }
    let p = built.get(idx)
    if (!p) {
      p = dispatchStage(idx, [...chain, idx])
      built.set(idx, p)
    }
    return p
  }

  const dispatch = async (st: StageState, idx: number, cmd: Instruction, chain: number[]): Promise<void> => {
    if (dispatchConfig(c, o, st, idx, cmd)) return
    if (cmd.kind === 'run') return dispatchRun(c, o, st, idx, cmd, chain)
    if (cmd.kind === 'copy' || cmd.kind === 'add') return dispatchCopy(c, o, st, idx, cmd, chain)
    fail(`${cmd.kind.toUpperCase()} is not allowed here`, cmd.range)
  }

  const dispatchStage = async (idx: number, chain: number[]): Promise<StageState> => {
    const stage = stages[idx] as Stage
    const baseName = expandMeta(stage.baseName, meta, stage.range)
    if (!baseName)
      fail(
        `base name (${stage.baseName}) should not be blank`,
        stage.range,
        'give FROM an image name, e.g. FROM busybox, or define the ARG it uses before the first FROM',
      )
    const total = 1 + stage.commands.filter((x) => OP_KINDS.has(x.kind)).length
    const parentIdx = stageRef(baseName, idx)
    let st: StageState
    if (parentIdx !== undefined) st = childState(await buildStage(parentIdx, chain), stage, total)
    else if (baseName === 'scratch') st = scratchState(stage, o.platform, total)
    else {
      const { img, vertex } = await c.image(baseName, stage.range)
      st = imageState(stage, img, { id: `s${idx}-from`, name: `[${stageLabel(stage)} 1/${total}] FROM ${img.ref}`, op: vertex.op, inputs: [] }, total)
    }
    // ONBUILD triggers of the base run right after FROM, as Docker does; the child does not inherit them
    const triggers = onbuildTriggers(st, o.file, fail)
    st.total += triggers.filter((x) => OP_KINDS.has(x.kind)).length
    for (const cmd of triggers) await dispatch(st, idx, cmd, chain)
    for (const cmd of stage.commands) await dispatch(st, idx, cmd, chain)
    return st
  }

  const final = await buildStage(targetIdx, [])
  for (const s of await Promise.all(built.values())) for (const a of s.declaredArgs) usedArgs.add(a)
  for (const [k] of o.buildArgs) {
    if (!usedArgs.has(k) && k !== 'BUILDKIT_DOCKERFILE_CHECK')
      warnings.push({ rule: 'UnusedBuildArg', message: `build argument "${k}" was not consumed by any ARG in ${o.file}` })
  }
  const config: ImageConfig = {
    architecture: final.image.architecture,
    os: final.image.os,
    ...(final.image.variant ? { variant: final.image.variant } : {}),
    config: { ...final.config, ...(o.labels && Object.keys(o.labels).length ? { Labels: { ...(final.config.Labels ?? {}), ...o.labels } } : {}) },
    rootfs: { type: 'layers', diff_ids: [] },
  }
  // JSONArgsRecommended does not apply where a SHELL is configured (by the stage or its base image)
  const relevant = warnings.filter((w) => !(w.rule === 'JSONArgsRecommended' && w.range && shellLines.has(w.range.startLine)))
  relevant.sort((a, b) => (a.range?.startLine ?? Number.MAX_SAFE_INTEGER) - (b.range?.startLine ?? Number.MAX_SAFE_INTEGER))
  const checked = applyChecks(relevant, checkCfg, o.file)
  return {
    target: final.vertex,
    config,
    history: { base: final.baseHistory, pending: final.pending },
    warnings: checked.warnings,
    ...(checked.error ? { checkError: checked.error } : {}),
    stageName: stageLabel(final.stage),
  }
}

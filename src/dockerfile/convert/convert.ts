import { posix } from 'node:path'
import type { Platform } from '../../core/descriptor.ts'
import { sha256 } from '../../core/digest.ts'
import { CairnError, DockerfileError, type SourceRange } from '../../core/errors.ts'
import type { Executor } from '../../executor/executor.ts'
import type { ContainerConfig, HistoryEntry, ImageConfig } from '../../oci/types.ts'
import type { BuildRef, ContextRef } from '../../ops/build-ref.ts'
import { ExecOp } from '../../ops/exec-op.ts'
import { type ContentChecksum, type CopyAction, FileOp } from '../../ops/file-op.ts'
import type { ImageResolver, ResolvedImage } from '../../ops/image-resolver.ts'
import { ContextSourceOp, ImageSourceOp } from '../../ops/source-ops.ts'
import type { LayerStore } from '../../snapshot/layer-store.ts'
import type { Vertex } from '../../solver/types.ts'
import type { Instruction, Stage } from '../instructions/index.ts'
import { parseInstructions } from '../instructions/index.ts'
import type { ParseResult } from '../parser/index.ts'
import { envGetter, ShellLex } from '../shell/index.ts'
import type { PendingHistory } from './history.ts'
import { DEFAULT_PATH, StageEnv } from './run-env.ts'

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
  labels?: Readonly<Record<string, string>>
  signal: AbortSignal
}

export interface ConvertWarning {
  rule: string
  message: string
  range?: SourceRange
}

export interface ConvertResult {
  /** The target stage's last vertex; undefined for a target that is only `FROM scratch`. */
  target: Vertex<BuildRef> | undefined
  /** Image config without rootfs (filled in after solving). */
  config: ImageConfig
  history: { base: HistoryEntry[]; pending: PendingHistory[] }
  warnings: ConvertWarning[]
  stageName: string
}

interface StageState {
  stage: Stage
  vertex: Vertex<BuildRef> | undefined
  env: StageEnv
  workdir: string
  user: string | undefined
  shell: string[]
  config: ContainerConfig
  image: Pick<ImageConfig, 'os' | 'architecture' | 'variant'>
  baseHistory: HistoryEntry[]
  pending: PendingHistory[]
  step: number
  total: number
  cmdSet: boolean
}

const OP_KINDS = new Set(['run', 'copy', 'add', 'workdir'])

/** Turns a parsed Dockerfile into a build graph for the solver, and the image config of the target stage. */
export async function convertDockerfile(o: ConvertOptions): Promise<ConvertResult> {
  const { metaArgs, stages, warnings: instrWarnings } = parseInstructions(o.parsed, { file: o.file })
  const warnings: ConvertWarning[] = [...o.parsed.warnings, ...instrWarnings].map((w) => ({ rule: w.rule, message: w.message, range: w.range }))
  const lex = new ShellLex(o.parsed.escapeToken)
  const where = (r: SourceRange): SourceRange => ({ ...r, file: o.file })
  const fail = (msg: string, r: SourceRange, hint?: string): never => {
    throw new DockerfileError(msg, where(r), hint ? { hint } : {})
  }
  const expand = (word: string, env: Map<string, string> | StageEnv, r: SourceRange): string => {
    try {
      const map = env instanceof StageEnv ? env.run : env
      return lex.processWord(word, envGetter(map)).word
    } catch (err) {
      return fail((err as Error).message, r)
    }
  }

  // Global ARGs (before the first FROM), overridden by --build-arg.
  const meta = new Map<string, string>()
  const usedArgs = new Set<string>()
  for (const a of metaArgs) {
    for (const kv of a.args) {
      const given = o.buildArgs.get(kv.key)
      if (given !== undefined) usedArgs.add(kv.key)
      const v = given ?? (kv.value !== undefined ? expand(kv.value, meta, a.range) : undefined)
      if (v !== undefined) meta.set(kv.key, v)
    }
  }

  if (stages.length === 0) throw new DockerfileError('the Dockerfile has no FROM instruction', { file: o.file, startLine: 1, endLine: 1 }, { hint: 'start each stage with FROM <image> (or FROM scratch)' })
  const byName = new Map<string, number>()
  for (const [i, s] of stages.entries()) if (s.name) byName.set(s.name.toLowerCase(), i)
  let targetIdx = stages.length - 1
  if (o.target !== undefined) {
    const t = byName.get(o.target.toLowerCase())
    if (t === undefined) {
      const names = stages.map((s) => s.name).filter(Boolean).join(', ')
      throw new CairnError('ERR_TARGET_NOT_FOUND', `target stage "${o.target}" could not be found in ${o.file}`, { hint: names ? `stages are: ${names}` : 'name a stage with FROM <image> AS <name>' })
    }
    targetIdx = t
  }

  let contextVertex: Vertex<BuildRef> | undefined
  const context = (): Vertex<BuildRef> => {
    contextVertex ??= { id: 'context', name: '[internal] load build context', op: new ContextSourceOp(o.context), inputs: [], internal: true }
    return contextVertex
  }
  const images = new Map<string, Promise<{ img: ResolvedImage; vertex: Vertex<BuildRef> }>>()
  const image = (ref: string, r: SourceRange) => {
    let p = images.get(ref)
    if (!p) {
      p = o.resolver.resolve(ref, o.platform, o.signal).then((img) => ({
        img,
        vertex: { id: `image:${img.ref}@${img.digest}`, name: `[internal] load metadata for ${img.ref}`, op: new ImageSourceOp(img, o.layers), inputs: [], internal: true },
      }))
      images.set(ref, p)
    }
    return p.catch((err: unknown) => {
      if (err instanceof CairnError) throw new DockerfileError(err.message, where(r), { code: err.code, ...(err.hint ? { hint: err.hint } : {}), cause: err })
      throw err
    })
  }

  const built = new Map<number, Promise<StageState>>()
  const stageLabel = (s: Stage) => s.name ?? `stage-${s.index}`

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

  const stageRef = (word: string, before: number): number | undefined => {
    const named = byName.get(word.toLowerCase())
    if (named !== undefined && named < before) return named
    if (/^\d+$/.test(word) && Number(word) < before) return Number(word)
    return undefined
  }

  const dispatchStage = async (idx: number, chain: number[]): Promise<StageState> => {
    const stage = stages[idx] as Stage
    const label = stageLabel(stage)
    const baseName = expand(stage.baseName, meta, stage.range)
    if (!baseName) fail(`base name (${stage.baseName}) should not be blank`, stage.range, 'give FROM an image name, e.g. FROM busybox, or define the ARG it uses before the first FROM')
    const total = 1 + stage.commands.filter((c) => OP_KINDS.has(c.kind)).length
    let st: StageState
    const parentIdx = stageRef(baseName, idx)
    if (parentIdx !== undefined) {
      const parent = await buildStage(parentIdx, chain)
      st = {
        ...parent,
        stage,
        env: parent.env.clone(),
        config: structuredClone(parent.config),
        baseHistory: [...parent.baseHistory],
        pending: [...parent.pending],
        shell: [...parent.shell],
        step: 1,
        total,
      }
    } else if (baseName === 'scratch') {
      st = {
        stage, vertex: undefined, env: new StageEnv([`PATH=${DEFAULT_PATH}`]), workdir: '/', user: undefined, shell: ['/bin/sh', '-c'],
        config: { Env: [`PATH=${DEFAULT_PATH}`] }, image: { os: o.platform.os, architecture: o.platform.architecture, ...(o.platform.variant ? { variant: o.platform.variant } : {}) },
        baseHistory: [], pending: [], step: 1, total, cmdSet: false,
      }
    } else {
      const { img, vertex } = await image(baseName, stage.range)
      const cfg = structuredClone(img.config.config ?? {})
      const env = new StageEnv(cfg.Env ?? [])
      if (!env.config.has('PATH')) env.setEnv('PATH', DEFAULT_PATH)
      cfg.Env = env.configList()
      const from: Vertex<BuildRef> = { id: `s${idx}-from`, name: `[${label} 1/${total}] FROM ${img.ref}`, op: vertex.op, inputs: [] }
      st = {
        stage, vertex: from, env, workdir: cfg.WorkingDir || '/', user: cfg.User || undefined, shell: cfg.Shell ?? ['/bin/sh', '-c'],
        config: cfg, image: { os: img.config.os, architecture: img.config.architecture, ...(img.config.variant ? { variant: img.config.variant } : {}) },
        baseHistory: img.config.history ?? [], pending: [], step: 1, total, cmdSet: false,
      }
    }
    st.cmdSet = false
    // ARGs declared in this stage, with values in scope.
    for (const cmd of stage.commands) await dispatch(st, idx, cmd, chain)
    return st
  }

  const nextName = (st: StageState, text: string): string => {
    st.step++
    return `[${stageLabel(st.stage)} ${st.step}/${st.total}] ${text}`
  }

  const addVertex = (st: StageState, v: Vertex<BuildRef>, createdBy: string) => {
    st.pending.push({ createdBy, vertex: v, input: st.vertex })
    st.vertex = v
  }

  const dispatch = async (st: StageState, idx: number, cmd: Instruction, chain: number[]): Promise<void> => {
    const r = cmd.range
    const env = st.env
    const origin = `${o.file}:${r.startLine}`
    switch (cmd.kind) {
      case 'arg': {
        for (const kv of cmd.args) {
          const given = o.buildArgs.get(kv.key)
          if (given !== undefined) usedArgs.add(kv.key)
          let v = given ?? (kv.value !== undefined ? expand(kv.value, env, r) : undefined)
          if (v === undefined && meta.has(kv.key)) v = meta.get(kv.key)
          if (v !== undefined) env.setArg(kv.key, v)
        }
        return
      }
      case 'env': {
        for (const kv of cmd.env) env.setEnv(kv.key, expand(kv.value, env, r))
        st.config.Env = env.configList()
        st.pending.push({ createdBy: `ENV ${cmd.env.map((kv) => `${kv.key}=${env.config.get(kv.key)}`).join(' ')}` })
        return
      }
      case 'label': {
        st.config.Labels ??= {}
        for (const kv of cmd.labels) st.config.Labels[expand(kv.key, env, r)] = expand(kv.value, env, r)
        st.pending.push({ createdBy: `LABEL ${cmd.labels.map((kv) => `${kv.key}=${kv.value}`).join(' ')}` })
        return
      }
      case 'user': {
        st.user = expand(cmd.user, env, r)
        st.config.User = st.user
        st.pending.push({ createdBy: `USER ${st.user}` })
        return
      }
      case 'expose': {
        st.config.ExposedPorts ??= {}
        for (const p of cmd.ports) {
          for (const port of expand(p, env, r).split(/\s+/).filter(Boolean)) st.config.ExposedPorts[port.includes('/') ? port : `${port}/tcp`] = {}
        }
        st.pending.push({ createdBy: `EXPOSE map[${Object.keys(st.config.ExposedPorts).map((k) => `${k}:{}`).join(' ')}]` })
        return
      }
      case 'cmd':
      case 'entrypoint': {
        const value = cmd.prependShell ? [...st.shell, cmd.cmd.join(' ')] : cmd.cmd
        if (cmd.kind === 'cmd') {
          st.config.Cmd = value
          st.cmdSet = true
        } else {
          st.config.Entrypoint = value
          if (!st.cmdSet) st.config.Cmd = null
        }
        st.pending.push({ createdBy: `${cmd.kind.toUpperCase()} ${JSON.stringify(value)}` })
        return
      }
      case 'shell': {
        st.shell = cmd.shell
        st.config.Shell = cmd.shell
        st.pending.push({ createdBy: `SHELL ${JSON.stringify(cmd.shell)}` })
        return
      }
      case 'stopsignal': {
        st.config.StopSignal = expand(cmd.signal, env, r)
        st.pending.push({ createdBy: `STOPSIGNAL ${st.config.StopSignal}` })
        return
      }
      case 'volume': {
        st.config.Volumes ??= {}
        for (const v of cmd.volumes) st.config.Volumes[expand(v, env, r)] = {}
        st.pending.push({ createdBy: `VOLUME ${JSON.stringify(cmd.volumes)}` })
        return
      }
      case 'healthcheck': {
        const h: NonNullable<ContainerConfig['Healthcheck']> = { Test: cmd.test }
        if (cmd.interval !== undefined) h.Interval = cmd.interval
        if (cmd.timeout !== undefined) h.Timeout = cmd.timeout
        if (cmd.startPeriod !== undefined) h.StartPeriod = cmd.startPeriod
        if (cmd.startInterval !== undefined) h.StartInterval = cmd.startInterval
        if (cmd.retries !== undefined) h.Retries = cmd.retries
        st.config.Healthcheck = h
        st.pending.push({ createdBy: `HEALTHCHECK &{${JSON.stringify(cmd.test)}}` })
        return
      }
      case 'onbuild': {
        st.config.OnBuild = [...(st.config.OnBuild ?? []), cmd.expression]
        st.pending.push({ createdBy: `ONBUILD ${cmd.expression}` })
        return
      }
      case 'maintainer': {
        st.pending.push({ createdBy: `MAINTAINER ${cmd.maintainer}` })
        return
      }
      case 'workdir': {
        const p = expand(cmd.path, env, r)
        st.workdir = posix.resolve(st.workdir, p)
        st.config.WorkingDir = st.workdir
        if (st.workdir !== '/') {
          const op = new FileOp(
            { hasBase: st.vertex !== undefined, actions: [{ kind: 'mkdir', path: st.workdir, mode: 0o755, ...(st.user ? { chown: st.user } : {}) }], origin, createdBy: `WORKDIR ${st.workdir}` },
            st.vertex ? 1 : 0,
            o,
          )
          addVertex(st, { id: `s${idx}-${st.step + 1}`, name: nextName(st, `WORKDIR ${st.workdir}`), op, inputs: st.vertex ? [st.vertex] : [] }, `WORKDIR ${st.workdir}`)
        } else st.step++
        return
      }
      case 'run': {
        let args: string[]
        if (cmd.heredocs.length > 0) {
          if (cmd.heredocs.length !== 1 || !cmd.prependShell) fail('this form of RUN with heredocs is not supported yet', r, 'use a single RUN <<EOF ... EOF heredoc, or plain shell commands')
          const h = cmd.heredocs[0] as (typeof cmd.heredocs)[0]
          args = [...st.shell, h.content]
        } else args = cmd.prependShell ? [...st.shell, cmd.cmd.join(' ')] : cmd.cmd
        if (cmd.mounts.length > 0) fail(`RUN --mount=type=${cmd.mounts[0]?.type} is not supported yet`, r, 'remove the --mount flag for now')
        const text = `RUN ${cmd.prependShell ? cmd.cmd.join(' ') : JSON.stringify(cmd.cmd)}`
        const op = new ExecOp(
          { args, env: env.runList(), cwd: st.workdir, ...(st.user ? { user: st.user } : {}), network: cmd.network === 'host' ? 'host' : cmd.network === 'none' ? 'none' : 'sandbox', platform: o.platform, origin },
          o,
        )
        const base = st.vertex ?? scratchVertex()
        addVertex(st, { id: `s${idx}-${st.step + 1}`, name: nextName(st, text), op, inputs: [base] }, `${text} # buildkit`)
        return
      }
      case 'copy':
      case 'add': {
        if (cmd.heredocs.length > 0) fail(`${cmd.kind.toUpperCase()} with a heredoc is not supported yet`, r)
        const sources = cmd.sources.map((s) => expand(s, env, r))
        if (cmd.kind === 'add' && sources.some((s) => /^[a-z]+:\/\//i.test(s) || s.startsWith('git@'))) fail('ADD from a URL is not supported yet', r, 'download it in a RUN step instead')
        let dest = expand(cmd.dest, env, r)
        const destIsDir = dest.endsWith('/') || dest === '.' || dest.endsWith('/.')
        dest = posix.resolve(st.workdir, dest) + (destIsDir && !dest.endsWith('/') ? '/' : destIsDir ? '/' : '')
        if (dest === '//') dest = '/'
        if (sources.length > 1 && !destIsDir) fail(`When using ${cmd.kind.toUpperCase()} with more than one source file, the destination must be a directory and end with a /`, r)
        let srcVertex: Vertex<BuildRef> = context()
        let fromText = ''
        const fromWord = cmd.kind === 'copy' ? cmd.from : undefined
        if (fromWord !== undefined) {
          const from = expand(fromWord, env, r)
          const sidx = stageRef(from, idx)
          if (sidx !== undefined) {
            const src = await buildStage(sidx, chain)
            srcVertex = src.vertex ?? scratchVertex()
          } else {
            if (byName.has(from.toLowerCase())) fail(`stage "${from}" is defined after this instruction`, r)
            srcVertex = (await image(from, r)).vertex
          }
          fromText = ` --from=${from}`
        }
        let chmod: number | undefined
        if (cmd.chmod !== undefined) {
          const m = expand(cmd.chmod, env, r)
          if (!/^[0-7]{3,4}$/.test(m)) fail(`invalid --chmod=${m}: only octal modes are supported yet`, r, 'use e.g. --chmod=0755')
          chmod = Number.parseInt(m, 8)
        }
        const chown = cmd.chown !== undefined ? expand(cmd.chown, env, r) : undefined
        const hasBase = st.vertex !== undefined
        const srcIndex = hasBase ? 1 : 0
        const actions: CopyAction[] = sources.map((s) => ({
          kind: 'copy', input: srcIndex, src: posix.resolve('/', s), dest,
          ...(chown ? { chown } : {}), ...(chmod !== undefined ? { chmod } : {}), ...(cmd.kind === 'add' ? { unpack: true } : {}),
          ...(cmd.excludes.length ? { excludes: cmd.excludes } : {}),
        }))
        const text = `${cmd.kind.toUpperCase()}${fromText}${chown ? ` --chown=${chown}` : ''} ${sources.join(' ')} ${cmd.dest}`
        const op = new FileOp({ hasBase, actions, origin, createdBy: `${text} # buildkit` }, srcIndex + 1, o)
        const inputs = st.vertex ? [st.vertex, srcVertex] : [srcVertex]
        addVertex(st, { id: `s${idx}-${st.step + 1}`, name: nextName(st, text), op, inputs }, `${text} # buildkit`)
        return
      }
      default: {
        const k = (cmd as { kind: string }).kind
        fail(`${k.toUpperCase()} is not supported yet`, r)
      }
    }
  }

  let scratch: Vertex<BuildRef> | undefined
  const scratchVertex = (): Vertex<BuildRef> => {
    scratch ??= { id: 'scratch', name: '[internal] scratch', op: { cacheMap: async () => ({ digest: sha256('buildkit.source.v0:scratch'), deps: [] }), exec: async () => ({ kind: 'layers', layers: [] }) }, inputs: [], internal: true }
    return scratch
  }

  const final = await buildStage(targetIdx, [])
  for (const [k] of o.buildArgs) {
    if (!usedArgs.has(k)) warnings.push({ rule: 'UnusedBuildArg', message: `build argument "${k}" was not consumed by any ARG in ${o.file}` })
  }
  const config: ImageConfig = {
    architecture: final.image.architecture,
    os: final.image.os,
    ...(final.image.variant ? { variant: final.image.variant } : {}),
    config: { ...final.config, ...(o.labels && Object.keys(o.labels).length ? { Labels: { ...(final.config.Labels ?? {}), ...o.labels } } : {}) },
    rootfs: { type: 'layers', diff_ids: [] },
  }
  return { target: final.vertex, config, history: { base: final.baseHistory, pending: final.pending }, warnings, stageName: stageLabel(final.stage) }
}

/** The state a stage starts from: a parent stage, scratch or an image; and the ONBUILD triggers it inherits. */
import type { Platform } from '../../core/descriptor.ts'
import type { SourceRange } from '../../core/errors.ts'
import type { BuildRef } from '../../ops/build-ref.ts'
import type { ResolvedImage } from '../../ops/image-resolver.ts'
import type { Vertex } from '../../solver/types.ts'
import type { Instruction, Stage } from '../instructions/index.ts'
import { parseInstruction } from '../instructions/index.ts'
import { type ParseResult, parse } from '../parser/index.ts'
import { DEFAULT_PATH, StageEnv } from './run-env.ts'
import type { StageState } from './state.ts'

/** FROM <earlier stage>: a copy of its state. */
export function childState(parent: StageState, stage: Stage, total: number): StageState {
  return {
    ...parent,
    stage,
    env: parent.env.clone(),
    declaredArgs: new Set(),
    config: structuredClone(parent.config),
    baseHistory: [...parent.baseHistory],
    pending: [...parent.pending],
    shell: [...parent.shell],
    step: 1,
    total,
    cmdSet: false,
  }
}

export function scratchState(stage: Stage, p: Platform, total: number): StageState {
  return {
    stage,
    vertex: undefined,
    env: new StageEnv([`PATH=${DEFAULT_PATH}`]),
    declaredArgs: new Set(),
    workdir: '/',
    workdirSet: false,
    user: undefined,
    shell: ['/bin/sh', '-c'],
    config: { Env: [`PATH=${DEFAULT_PATH}`] },
    image: { os: p.os, architecture: p.architecture, ...(p.variant ? { variant: p.variant } : {}) },
    baseHistory: [],
    pending: [],
    step: 1,
    total,
    cmdSet: false,
  }
}

/** FROM <image>: its config (PATH added when missing), user, workdir and shell. */
export function imageState(stage: Stage, img: ResolvedImage, from: Vertex<BuildRef>, total: number): StageState {
  const cfg = structuredClone(img.config.config ?? {})
  const env = new StageEnv(cfg.Env ?? [])
  if (!env.config.has('PATH')) env.setEnv('PATH', DEFAULT_PATH)
  cfg.Env = env.configList()
  return {
    stage,
    vertex: from,
    env,
    declaredArgs: new Set(),
    workdir: cfg.WorkingDir || '/',
    workdirSet: false,
    user: cfg.User || undefined,
    shell: cfg.Shell ?? ['/bin/sh', '-c'],
    config: cfg,
    image: { os: img.config.os, architecture: img.config.architecture, ...(img.config.variant ? { variant: img.config.variant } : {}) },
    baseHistory: img.config.history ?? [],
    pending: [],
    step: 1,
    total,
    cmdSet: false,
  }
}

/**
 * Takes the base's ONBUILD triggers out of the stage's config and parses each as an instruction
 * placed at the FROM line (BuildKit's dispatchOnBuildTriggers).
 */
export function onbuildTriggers(st: StageState, file: string, fail: (msg: string, r: SourceRange, hint?: string) => never): Instruction[] {
  const triggers = st.config.OnBuild ?? []
  if (triggers.length === 0) return []
  delete st.config.OnBuild
  const r = st.stage.range
  return triggers.map((t) => {
    let parsed: ParseResult
    try {
      parsed = parse(t, { file })
    } catch (err) {
      return fail(`ONBUILD trigger ${JSON.stringify(t)}: ${(err as Error).message}`, r)
    }
    if (parsed.nodes.length !== 1) return fail(`onbuild trigger should be a single expression: ${JSON.stringify(t)}`, r)
    try {
      return { ...parseInstruction(parsed.nodes[0] as ParseResult['nodes'][0], { file, escapeToken: parsed.escapeToken }), range: r }
    } catch (err) {
      return fail(`ONBUILD trigger ${JSON.stringify(t)}: ${(err as Error).message}`, r)
    }
  })
}

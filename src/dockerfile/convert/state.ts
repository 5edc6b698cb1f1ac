import type { SourceRange } from '../../core/errors.ts'
import type { ContainerConfig, HistoryEntry, ImageConfig } from '../../oci/types.ts'
import type { BuildRef } from '../../ops/build-ref.ts'
import type { ResolvedImage } from '../../ops/image-resolver.ts'
import type { Vertex } from '../../solver/types.ts'
import type { Stage } from '../instructions/index.ts'
import type { PendingHistory } from './history.ts'
import type { StageEnv } from './run-env.ts'

/** What the converter knows of a stage while dispatching its instructions. */
export interface StageState {
  stage: Stage
  vertex: Vertex<BuildRef> | undefined
  env: StageEnv
  /** ARGs declared in this stage (with or without a value): never reported as undefined. */
  declaredArgs: Set<string>
  workdir: string
  /** An absolute WORKDIR was given in this stage (WorkdirRelativePath). */
  workdirSet: boolean
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

export interface ConvertWarning {
  rule: string
  message: string
  range?: SourceRange
}

/** The services the instruction handlers share (built once per conversion by convertDockerfile). */
export interface Conv {
  file: string
  fail(msg: string, r: SourceRange, hint?: string): never
  /** Expands a word with the stage's ARG/ENV values, reporting UndefinedVar. */
  expand(st: StageState, word: string, r: SourceRange): string
  /** Expands a heredoc body (quotes kept). */
  expandRaw(st: StageState, word: string, r: SourceRange): string
  warn(w: ConvertWarning): void
  context(): Vertex<BuildRef>
  scratch(): Vertex<BuildRef>
  image(ref: string, r: SourceRange): Promise<{ img: ResolvedImage; vertex: Vertex<BuildRef> }>
  /** The vertex of `--from` / `from=`: an earlier stage (by name or index) or an image. */
  source(from: string, idx: number, chain: number[], r: SourceRange): Promise<Vertex<BuildRef>>
  /** A global ARG's value (predefined platform ARGs included). */
  metaArg(name: string): string | undefined
  /** A shell-form CMD/ENTRYPOINT at this line runs with a configured SHELL (no JSONArgsRecommended). */
  shellSet(line: number): void
  /** A fresh vertex id. */
  id(idx: number, what: string): string
  nextName(st: StageState, text: string): string
  addVertex(st: StageState, v: Vertex<BuildRef>, createdBy: string): void
}

/**
 * Typed Dockerfile instructions (BuildKit's instructions package). Words are kept UNEXPANDED: the converter
 * expands them in order with the ShellLex, because ARG/ENV scope is evaluated step by step. Each instruction
 * lists in `expand` the fields BuildKit expands (with the stage's ARG/ENV values at that point).
 */
import type { SourceRange } from '../../core/errors.ts'
import type { Heredoc } from '../parser/types.ts'

export type { Heredoc } from '../parser/types.ts'

interface Base {
  range: SourceRange
  /** The instruction's logical line, trimmed (BuildKit's SourceCode / String()). */
  original: string
  /** The instruction word as written (for casing checks and messages). */
  keyword: string
  /** Names of this record's fields that undergo variable expansion, as in BuildKit. */
  expand: readonly string[]
}

export interface KeyValue {
  key: string
  value: string
}

export interface FromInstruction extends Base {
  kind: 'from'
  /** The image or stage reference (expanded with the global ARGs only). */
  baseName: string
  /** Lower-cased `AS` name. */
  name?: string
  /** `--platform` value (expanded with the global ARGs only). */
  platform?: string
  /** The raw flags (`--platform=...`). */
  fromFlags: string[]
}

/** ARG: expansion errors are deferred by BuildKit (an ARG whose value is overridden may never be expanded). */
export interface ArgInstruction extends Base {
  kind: 'arg'
  args: { key: string; value?: string }[]
}
export interface EnvInstruction extends Base {
  kind: 'env'
  env: KeyValue[]
}
export interface LabelInstruction extends Base {
  kind: 'label'
  labels: KeyValue[]
}
export interface WorkdirInstruction extends Base {
  kind: 'workdir'
  path: string
}
export interface UserInstruction extends Base {
  kind: 'user'
  user: string
}
/** EXPOSE: each entry is expanded AND split into words (BuildKit uses ProcessWords there). */
export interface ExposeInstruction extends Base {
  kind: 'expose'
  ports: string[]
}
export interface CmdInstruction extends Base {
  kind: 'cmd'
  cmd: string[]
  prependShell: boolean
}
export interface EntrypointInstruction extends Base {
  kind: 'entrypoint'
  cmd: string[]
  prependShell: boolean
}
export interface ShellInstruction extends Base {
  kind: 'shell'
  shell: string[]
}
export interface StopsignalInstruction extends Base {
  kind: 'stopsignal'
  signal: string
}
export interface HealthcheckInstruction extends Base {
  kind: 'healthcheck'
  /** ['NONE'] | ['CMD', ...args] | ['CMD-SHELL', command] */
  test: string[]
  /** Durations in nanoseconds; absent when not given (or given as 0). */
  interval?: number
  timeout?: number
  startPeriod?: number
  startInterval?: number
  retries?: number
}
export interface VolumeInstruction extends Base {
  kind: 'volume'
  volumes: string[]
}
export interface OnbuildInstruction extends Base {
  kind: 'onbuild'
  /** The trigger instruction's text (after `ONBUILD`), heredoc bodies appended as BuildKit does. */
  expression: string
}
export interface MaintainerInstruction extends Base {
  kind: 'maintainer'
  maintainer: string
}

export type MountType = 'bind' | 'cache' | 'tmpfs' | 'secret' | 'ssh'

export interface RunMount {
  type: MountType
  target?: string
  source?: string
  from?: string
  /** Cache id, secret id (defaulted from source or basename(target)) or ssh id (default 'default'). */
  id?: string
  readonly: boolean
  /** Cache mounts only; defaults to 'shared'. */
  sharing?: 'shared' | 'private' | 'locked'
  mode?: number
  uid?: number
  gid?: number
  required?: boolean
  /** Secret mounts: expose the secret as this environment variable. */
  env?: string
  /** Tmpfs size limit in bytes. */
  size?: number
}

export interface RunDevice {
  name: string
  required: boolean
}

export interface RunInstruction extends Base {
  kind: 'run'
  /** Shell form: one element, the command text (not expanded by the frontend). Exec form: the JSON array. */
  cmd: string[]
  prependShell: boolean
  /** Heredoc bodies; when `chomp` is set, leading tabs are already stripped from `content`. */
  heredocs: Heredoc[]
  /**
   * Mounts parsed from the unexpanded `--mount` text. Values that hold `$` are subject to expansion: when
   * `mountsNeedExpansion` is true, re-parse `mountSpecs` with `parseRunMount(spec, expand)`.
   */
  mounts: RunMount[]
  mountSpecs: string[]
  mountsNeedExpansion: boolean
  network?: 'default' | 'none' | 'host'
  security?: 'sandbox' | 'insecure'
  devices: RunDevice[]
  /** The names of the flags given (BuildKit's FlagsUsed). */
  flagsUsed: string[]
}

interface CopyLike extends Base {
  /** Source paths (heredoc markers removed; their bodies are in `heredocs`). */
  sources: string[]
  dest: string
  chown?: string
  chmod?: string
  link: boolean
  excludes: string[]
  /** Inline sources: `name` is the file name, `content` already chomped, `expand` → expand the body (raw). */
  heredocs: Heredoc[]
}
export interface CopyInstruction extends CopyLike {
  kind: 'copy'
  /** Stage name, stage index or image; BuildKit refuses variables here (checked at parse time). */
  from?: string
  parents: boolean
}
export interface AddInstruction extends CopyLike {
  kind: 'add'
  checksum?: string
  keepGitDir?: boolean
  unpack?: boolean
}

export type Instruction =
  | FromInstruction
  | ArgInstruction
  | EnvInstruction
  | LabelInstruction
  | WorkdirInstruction
  | UserInstruction
  | ExposeInstruction
  | CmdInstruction
  | EntrypointInstruction
  | RunInstruction
  | CopyInstruction
  | AddInstruction
  | ShellInstruction
  | StopsignalInstruction
  | HealthcheckInstruction
  | VolumeInstruction
  | OnbuildInstruction
  | MaintainerInstruction

export type InstructionKind = Instruction['kind']

export interface Stage {
  /** Lower-cased `AS` name. */
  name?: string
  /** FROM image word, unexpanded (expanded with global ARGs only). */
  baseName: string
  platform?: string
  /** The instructions after FROM (FROM itself is `from`). */
  commands: Instruction[]
  range: SourceRange
  /** 0-based position among the stages. */
  index: number
  fromFlags: string[]
  from: FromInstruction
}

export interface Warning {
  /** BuildKit build-check name ('JSONArgsRecommended', 'StageNameCasing', ...). */
  rule: string
  message: string
  range: SourceRange
}

export interface ParsedDockerfile {
  metaArgs: ArgInstruction[]
  stages: Stage[]
  warnings: Warning[]
}

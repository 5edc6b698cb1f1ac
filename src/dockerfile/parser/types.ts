import type { SourceRange } from '../../core/errors.ts'

/** A here-document attached to RUN/COPY/ADD (`<<EOF`, `<<-EOF`, `<<"EOF"`, `3<<EOF`). */
export interface Heredoc {
  /** The delimiter word with quotes removed. */
  name: string
  /** The body: every line up to the delimiter, newlines included, tabs not yet stripped. */
  content: string
  /** The file descriptor written before `<<` (0 when absent). */
  fileDescriptor: number
  /** False when any part of the delimiter was quoted: the body is then taken literally. */
  expand: boolean
  /** `<<-`: leading tabs are stripped from the body lines (see `chompHeredocContent`). */
  chomp: boolean
}

/** One instruction of the AST (BuildKit's `parser.Node` for a child of the root). */
export interface Node {
  /** The instruction as written (BuildKit keeps the case; use `.toLowerCase()` to dispatch). */
  value: string
  /** The full logical line after continuation joining (comments and escapes at line ends removed). */
  original: string
  /** Leading `--flag[=value]` words, unquoted. */
  flags: string[]
  /** BuildKit's Next chain, flattened (for ONBUILD: the trigger instruction followed by its arguments). */
  args: string[]
  /** True when the arguments were a JSON array (exec form). */
  json: boolean
  heredocs: Heredoc[]
  startLine: number
  endLine: number
  /** ONBUILD only: the trigger instruction as its own node. */
  subCommand?: Node
}

/** Parser directives found at the top of the file. */
export interface Directives {
  syntax?: string
  escape?: string
  check?: string
}

export interface ParseWarning {
  /** BuildKit build-check name ('NoEmptyContinuation'). */
  rule: string
  message: string
  detail: string
  url: string
  range: SourceRange
}

export interface ParseResult {
  directives: Directives
  nodes: Node[]
  warnings: ParseWarning[]
  escapeToken: string
}

export interface ParseOptions {
  /** File name used in error messages (defaults to 'Dockerfile'). */
  file?: string
}

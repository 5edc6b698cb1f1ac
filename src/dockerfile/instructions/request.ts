/** What every instruction parser receives, and the shared helpers. */
import type { SourceRange } from '../../core/errors.ts'
import { InvalidArgumentError } from '../../core/errors.ts'
import type { Node } from '../parser/types.ts'
import { Flags } from './flags.ts'

export interface Request {
  node: Node
  keyword: string
  args: string[]
  json: boolean
  flags: Flags
  range: SourceRange
  original: string
  escapeToken: string
}

export function newRequest(node: Node, file: string | undefined, escapeToken: string): Request {
  return {
    node,
    keyword: node.value,
    args: node.args,
    json: node.json,
    flags: new Flags(node.flags),
    range: { ...(file === undefined ? {} : { file }), startLine: node.startLine, endLine: node.endLine },
    original: node.original.trim(),
    escapeToken,
  }
}

/** The common fields of every instruction record. */
export function base<K extends string>(req: Request, kind: K, expand: readonly string[] = []) {
  return { kind, range: req.range, original: req.original, keyword: req.keyword, expand }
}

export const invalid = (message: string, hint?: string): InvalidArgumentError =>
  new InvalidArgumentError(message, hint === undefined ? {} : { hint })

export const errAtLeastOneArgument = (cmd: string) =>
  invalid(`${cmd} requires at least one argument`, `write ${cmd} <argument>`)
export const errExactlyOneArgument = (cmd: string) =>
  invalid(`${cmd} requires exactly one argument`, `write ${cmd} <argument>`)
export const errNoDestination = (cmd: string) =>
  invalid(
    `${cmd} requires at least two arguments, but only one was provided. Destination could not be determined`,
    `write ${cmd} <source>... <destination>`,
  )

/** Exec-form arguments as they are; shell-form arguments joined back into one command string. */
export function handleJSONArgs(args: string[], json: boolean): string[] {
  if (args.length === 0) return []
  if (!json) return [args.join(' ')]
  return args
}

/** Sets an optional property only when the value is defined (exactOptionalPropertyTypes). */
export function opt<K extends string, V>(key: K, value: V | undefined): { [P in K]?: V } {
  return (value === undefined ? {} : { [key]: value }) as { [P in K]?: V }
}

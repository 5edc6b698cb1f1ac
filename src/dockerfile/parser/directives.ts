/**
 * Parser directives (`# syntax=`, `# escape=`, `# check=`). They count only at the very top of the file: the
 * first line that is not a recognised directive (a comment, a blank line, an instruction) ends the search.
 * A directive may not be repeated.
 */
import { InvalidArgumentError } from '../../core/errors.ts'
import { trimLeftSpace } from '../shell/chars.ts'
import type { Directives } from './types.ts'

const DIRECTIVE = /^([a-zA-Z][a-zA-Z0-9]*)[\t\n\f\r ]*=[\t\n\f\r ]*(.+?)[\t\n\f\r ]*$/s
const KNOWN = new Set(['syntax', 'escape', 'check'])

export interface Directive {
  name: 'syntax' | 'escape' | 'check'
  value: string
}

export class DirectiveParser {
  private done = false
  private readonly seen = new Set<string>()
  readonly found: Directives = {}

  /** Looks at one line (newline already removed); returns the directive it holds, if any. */
  parseLine(line: string): Directive | undefined {
    if (this.done) return undefined
    if (!line.startsWith('#')) {
      this.done = true
      return undefined
    }
    const m = DIRECTIVE.exec(trimLeftSpace(line.slice(1)))
    const name = m?.[1]?.toLowerCase()
    if (!m || name === undefined || !KNOWN.has(name)) {
      this.done = true
      return undefined
    }
    if (this.seen.has(name)) {
      throw new InvalidArgumentError(`only one ${name} parser directive can be used`, {
        hint: `remove the repeated "# ${name}=" line`,
      })
    }
    this.seen.add(name)
    const directive = { name, value: m[2] as string } as Directive
    this.found[directive.name] = directive.value
    return directive
  }
}

/** Checks an `escape` directive value: only backslash and backtick are allowed. */
export function validEscapeToken(value: string): string {
  if (value !== '`' && value !== '\\') {
    throw new InvalidArgumentError(`invalid escape token '${value}' does not match \` or \\`, {
      hint: 'use "# escape=\\" (the default) or "# escape=`"',
    })
  }
  return value
}

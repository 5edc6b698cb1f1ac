import { InvalidArgumentError } from '../../core/errors.ts'

/**
 * A word that cannot be expanded (bad substitution, unterminated quote, `${x:?}` on an unset variable).
 * The instructions/converter layer wraps it in a DockerfileError with file and line.
 */
export class ShellError extends InvalidArgumentError {
  constructor(message: string, opts: { hint?: string; cause?: unknown } = {}) {
    super(message, { ...opts, code: 'ERR_DOCKERFILE_EXPANSION' })
    this.name = 'ShellError'
  }
}

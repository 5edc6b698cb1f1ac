/**
 * The error hierarchy. Every error cairn raises on purpose is a CairnError: it carries a stable
 * `code` (ERR_<AREA>_<WHAT>), a one-line message that names the input, and an optional `hint`
 * that says what to do. The CLI prints `message` and `hint` only, never a stack trace.
 */
export interface ErrorOptions {
  hint?: string
  cause?: unknown
  details?: Record<string, unknown>
}

export class CairnError extends Error {
  readonly code: string
  readonly hint: string | undefined
  readonly details: Record<string, unknown> | undefined
  constructor(code: string, message: string, opts: ErrorOptions = {}) {
    super(message, opts.cause === undefined ? undefined : { cause: opts.cause })
    this.name = 'CairnError'
    this.code = code
    this.hint = opts.hint
    this.details = opts.details
  }
}

/** Something that was looked up does not exist (a blob, a file, a stage). */
export class NotFoundError extends CairnError {
  constructor(message: string, opts: ErrorOptions & { code?: string } = {}) {
    super(opts.code ?? 'ERR_NOT_FOUND', message, opts)
    this.name = 'NotFoundError'
  }
}

/** The thing being created exists already (content stores treat this as success). */
export class AlreadyExistsError extends CairnError {
  constructor(message: string, opts: ErrorOptions & { code?: string } = {}) {
    super(opts.code ?? 'ERR_ALREADY_EXISTS', message, opts)
    this.name = 'AlreadyExistsError'
  }
}

/** The user's input is wrong: a flag, an attribute, a path. */
export class InvalidArgumentError extends CairnError {
  constructor(message: string, opts: ErrorOptions & { code?: string } = {}) {
    super(opts.code ?? 'ERR_INVALID_ARGUMENT', message, opts)
    this.name = 'InvalidArgumentError'
  }
}

/** Data does not match what was expected: digest or size mismatch, corrupt content. */
export class FailedPreconditionError extends CairnError {
  constructor(message: string, opts: ErrorOptions & { code?: string } = {}) {
    super(opts.code ?? 'ERR_FAILED_PRECONDITION', message, opts)
    this.name = 'FailedPreconditionError'
  }
}

/** A transient failure worth retrying (5xx, 429, connection reset). */
export class UnavailableError extends CairnError {
  constructor(message: string, opts: ErrorOptions & { code?: string } = {}) {
    super(opts.code ?? 'ERR_UNAVAILABLE', message, opts)
    this.name = 'UnavailableError'
  }
}

export class NotImplementedError extends CairnError {
  constructor(message: string, opts: ErrorOptions & { code?: string } = {}) {
    super(opts.code ?? 'ERR_NOT_IMPLEMENTED', message, opts)
    this.name = 'NotImplementedError'
  }
}

/** A position in a source file (1-based lines). */
export interface SourceRange {
  file?: string
  startLine: number
  endLine: number
}

/** A Dockerfile that cannot be parsed or converted; the message names the file and line. */
export class DockerfileError extends CairnError {
  readonly range: SourceRange
  constructor(message: string, range: SourceRange, opts: ErrorOptions & { code?: string } = {}) {
    const where = `${range.file ?? 'Dockerfile'}:${range.startLine}`
    super(opts.code ?? 'ERR_DOCKERFILE_SYNTAX', `${where}: ${message}`, opts)
    this.name = 'DockerfileError'
    this.range = range
  }
}

/** A RUN step (or another process) exited non-zero. */
export class ExecError extends CairnError {
  readonly exitCode: number
  constructor(message: string, exitCode: number, opts: ErrorOptions = {}) {
    super('ERR_EXEC_FAILED', message, opts)
    this.name = 'ExecError'
    this.exitCode = exitCode
  }
}

/** Walks the `cause` chain (the errors.As analogue). */
export function findCause<T extends Error>(err: unknown, ctor: abstract new (...a: never[]) => T): T | undefined {
  let cur: unknown = err
  for (let depth = 0; cur !== undefined && cur !== null && depth < 32; depth++) {
    if (cur instanceof ctor) return cur
    cur = (cur as { cause?: unknown }).cause
  }
  return undefined
}

export const isNotFound = (err: unknown): boolean => findCause(err, NotFoundError) !== undefined || (err as NodeJS.ErrnoException)?.code === 'ENOENT'
export const isAlreadyExists = (err: unknown): boolean => findCause(err, AlreadyExistsError) !== undefined || (err as NodeJS.ErrnoException)?.code === 'EEXIST'

/** What an aborted operation throws: the signal's reason (the context.Cause rule), else a generic abort. */
const abortError = (reason: unknown): unknown => reason ?? new CairnError('ERR_ABORTED', 'operation aborted')

/** Rejects with the signal's reason if it is aborted. */
export function throwIfAborted(signal: AbortSignal | undefined): void {
  if (signal?.aborted) throw abortError(signal.reason)
}

/**
 * An AbortSignal's state mirrored into an object of one class, for loops that check it thousands of
 * times. Node 20 gives every AbortSignal a hidden class of its own (`%HaveSameMap` of two signals is
 * false), so code V8 optimised while reading one signal's `aborted` is thrown away at the next signal
 * and compiled again: the packing thread, one job (one signal) per layer, recompiled the walk and the
 * tar layout at every layer (~30 ms of the optimising compiler each, at the end of a build, when CPU
 * is short). Pass the flag as an argument (see walkDir) and call `dispose()` when done.
 */
export class AbortFlag {
  aborted = false
  reason: unknown = undefined
  readonly #signal: AbortSignal | undefined
  readonly #onAbort = (): void => {
    this.aborted = true
    this.reason = this.#signal?.reason
  }

  constructor(signal: AbortSignal | undefined) {
    this.#signal = signal
    if (signal?.aborted) this.#onAbort()
    else signal?.addEventListener('abort', this.#onAbort, { once: true })
  }

  throwIfAborted(): void {
    if (this.aborted) throw abortError(this.reason)
  }

  dispose(): void {
    this.#signal?.removeEventListener('abort', this.#onAbort)
  }
}

/** Runs the generator `fn(flag, ...args)` with an AbortFlag for `signal`, disposed when it ends or is left. */
export function* withAbortFlag<A extends unknown[], T>(
  signal: AbortSignal | undefined,
  fn: (abort: AbortFlag, ...args: A) => Generator<T>,
  ...args: A
): Generator<T> {
  const abort = new AbortFlag(signal)
  try {
    yield* fn(abort, ...args)
  } finally {
    abort.dispose()
  }
}

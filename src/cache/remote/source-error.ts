/** Marks an error that came from the caller's source stream (not worth a store-level retry). */
export class SourceStreamError extends Error {
  constructor(cause: unknown) {
    super('source stream failed', { cause })
    this.name = 'SourceStreamError'
  }
}

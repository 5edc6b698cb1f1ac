import { createHash } from 'node:crypto'
import { Transform, type TransformCallback } from 'node:stream'
import type { Digest } from './digest.ts'

/**
 * A pass-through that hashes (sha256) and counts what flows through it. Read `digest()` and
 * `size` after the stream has finished.
 */
export class HashingStream extends Transform {
  #hash = createHash('sha256')
  #size = 0
  #digest: Digest | undefined
  override _transform(chunk: Buffer, _enc: BufferEncoding, cb: TransformCallback): void {
    this.#hash.update(chunk)
    this.#size += chunk.length
    cb(null, chunk)
  }
  get size(): number {
    return this.#size
  }
  digest(): Digest {
    this.#digest ??= `sha256:${this.#hash.digest('hex')}` as Digest
    return this.#digest
  }
}

/** Reads a whole (small) stream into memory, refusing more than `limit` bytes. */
export async function readAllLimited(stream: AsyncIterable<Buffer | string>, limit: number, what: string): Promise<Buffer> {
  const parts: Buffer[] = []
  let n = 0
  for await (const chunk of stream) {
    const b = typeof chunk === 'string' ? Buffer.from(chunk) : chunk
    n += b.length
    if (n > limit) {
      const { FailedPreconditionError } = await import('./errors.ts')
      throw new FailedPreconditionError(`${what} is larger than ${limit} bytes`, { code: 'ERR_TOO_LARGE' })
    }
    parts.push(b)
  }
  return Buffer.concat(parts)
}

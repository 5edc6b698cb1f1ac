import { createHash } from 'node:crypto'
import { type Readable, Transform, type TransformCallback, type Writable } from 'node:stream'
import { finished, pipeline } from 'node:stream/promises'
import type { Digest } from './digest.ts'
import { FailedPreconditionError } from './errors.ts'

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

/**
 * A pass-through that also writes what flows through it into `copy`, as a side line that must
 * never fail the main one: once `copy` errors, `failed` is set and the bytes only pass through.
 * `copy` is ended when the input ends; backpressure from it slows the main line.
 */
export class TeeStream extends Transform {
  readonly #copy: Writable
  failed = false
  constructor(copy: Writable) {
    super()
    this.#copy = copy
    copy.on('error', () => {
      this.failed = true
    })
  }
  override _transform(chunk: Buffer, _enc: BufferEncoding, cb: TransformCallback): void {
    if (this.failed || this.#copy.write(chunk)) {
      cb(null, chunk)
      return
    }
    const go = () => {
      this.#copy.off('drain', go)
      this.#copy.off('error', go)
      cb(null, chunk)
    }
    this.#copy.on('drain', go)
    this.#copy.on('error', go)
  }
  override _flush(cb: TransformCallback): void {
    if (this.failed) {
      cb()
      return
    }
    this.#copy.end()
    finished(this.#copy).then(
      () => cb(),
      () => {
        this.failed = true
        cb()
      },
    )
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
      throw new FailedPreconditionError(`${what} is larger than ${limit} bytes`, { code: 'ERR_TOO_LARGE' })
    }
    parts.push(b)
  }
  return Buffer.concat(parts)
}

/**
 * A pass-through that checks the bytes against an expected digest and size, failing the stream at
 * its end (or as soon as it is too long) with a FailedPreconditionError naming `what`.
 */
export function verifyingStream(expected: { digest: string; size?: number }, what: string): Transform {
  const hash = createHash('sha256')
  let size = 0
  return new Transform({
    transform(chunk: Buffer, _enc, cb) {
      size += chunk.length
      if (expected.size !== undefined && expected.size >= 0 && size > expected.size) {
        cb(new FailedPreconditionError(`${what}: more than the expected ${expected.size} bytes`, { code: 'ERR_CONTENT_SIZE_MISMATCH' }))
        return
      }
      hash.update(chunk)
      cb(null, chunk)
    },
    flush(cb) {
      const got = `sha256:${hash.digest('hex')}`
      if (expected.size !== undefined && expected.size >= 0 && size !== expected.size) {
        cb(new FailedPreconditionError(`${what}: truncated: ${size} of ${expected.size} bytes`, { code: 'ERR_CONTENT_SIZE_MISMATCH' }))
      } else if (got !== expected.digest) {
        cb(new FailedPreconditionError(`${what}: digest mismatch: the bytes hash to ${got}`, { code: 'ERR_CONTENT_DIGEST_MISMATCH' }))
      } else cb()
    },
  })
}

/**
 * Passes `body` through, failing (as soon as it overflows, or at its end) if it is not exactly
 * `size` bytes: a download that a store truncated or padded. `what` names it in the message.
 */
export function sizeChecked(body: Readable, size: number, what: string): Readable {
  let n = 0
  const check = new Transform({
    transform(chunk: Buffer, _enc, cb: TransformCallback) {
      n += chunk.length
      if (n > size) cb(new FailedPreconditionError(`${what} is longer than the expected ${size} bytes`, { code: 'ERR_CACHE_SIZE_MISMATCH' }))
      else cb(null, chunk)
    },
    flush(cb: TransformCallback) {
      if (n !== size) cb(new FailedPreconditionError(`${what} has ${n} bytes, expected ${size} (truncated?)`, { code: 'ERR_CACHE_SIZE_MISMATCH' }))
      else cb()
    },
  })
  pipeline(body, check).catch(() => undefined)
  return check
}

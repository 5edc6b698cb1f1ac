import { createHash } from 'node:crypto'
import { Readable } from 'node:stream'
import type { S3Client } from '@aws-sdk/client-s3'
import { Upload } from '@aws-sdk/lib-storage'
import type { Descriptor } from '../../../core/descriptor.ts'
import { FailedPreconditionError } from '../../../core/errors.ts'
import { SourceStreamError } from '../../remote/source-error.ts'

export interface VerifiedUploadOptions {
  client: S3Client
  bucket: string
  key: string
  /** For messages: `s3://bucket/key`. */
  uri: string
  desc: Pick<Descriptor, 'digest' | 'size' | 'mediaType'>
  source: Readable
  partSize: number
  queueSize: number
  signal?: AbortSignal | undefined
}


/**
 * Uploads `source` to `key`, verifying size and sha256 while the bytes stream through.
 *
 * How "nothing visible on mismatch" is achieved: the body handed to lib-storage is a generator
 * that hashes and counts each chunk and, at end of input, throws instead of ending when the size
 * or digest is wrong (or as soon as more than `size` bytes arrive). lib-storage only issues the
 * single PutObject (small blobs) or CompleteMultipartUpload (large blobs) after the body has
 * ended cleanly, so a bad body never produces an object: the single PUT is never sent, and the
 * multipart upload is aborted (or, on stores without AbortMultipartUpload, left uncompleted and
 * invisible). Memory stays at about `partSize * (queueSize + 1)`.
 */
export async function uploadVerified(o: VerifiedUploadOptions): Promise<void> {
  const { desc } = o
  let verifyError: Error | undefined
  const fail = (e: Error): never => {
    verifyError = e
    throw e
  }
  async function* checked(): AsyncGenerator<Buffer> {
    const hash = createHash('sha256')
    let n = 0
    try {
      for await (const chunk of o.source) {
        const b = typeof chunk === 'string' ? Buffer.from(chunk) : (chunk as Buffer)
        n += b.length
        if (n > desc.size) {
          fail(
            new FailedPreconditionError(`s3 cache: upload ${o.uri}: body is larger than the expected ${desc.size} bytes`, { code: 'ERR_CACHE_SIZE_MISMATCH' }),
          )
        }
        hash.update(b)
        yield b
      }
    } catch (e) {
      if (e === verifyError) throw e
      throw new SourceStreamError(e)
    }
    if (n !== desc.size) {
      fail(new FailedPreconditionError(`s3 cache: upload ${o.uri}: body has ${n} bytes, expected ${desc.size}`, { code: 'ERR_CACHE_SIZE_MISMATCH' }))
    }
    const got = `sha256:${hash.digest('hex')}`
    if (got !== desc.digest) {
      fail(new FailedPreconditionError(`s3 cache: upload ${o.uri}: body digest ${got} does not match ${desc.digest}`, { code: 'ERR_CACHE_DIGEST_MISMATCH' }))
    }
  }
  const body = Readable.from(checked(), { objectMode: false, highWaterMark: 1024 * 1024 })
  const ac = new AbortController()
  const onAbort = (): void => {
    ac.abort()
    body.destroy()
  }
  o.signal?.addEventListener('abort', onAbort, { once: true })
  const upload = new Upload({
    client: o.client,
    params: { Bucket: o.bucket, Key: o.key, Body: body, ContentType: desc.mediaType, ContentLength: desc.size },
    partSize: o.partSize,
    queueSize: o.queueSize,
    leavePartsOnError: false,
    abortController: ac,
  })
  try {
    if (o.signal?.aborted) onAbort()
    await upload.done()
  } catch (e) {
    if (o.signal?.aborted) throw o.signal.reason
    // lib-storage may report the failed abort of the multipart upload instead of our reason.
    if (verifyError) throw verifyError
    throw e
  } finally {
    o.signal?.removeEventListener('abort', onAbort)
    body.destroy()
  }
}

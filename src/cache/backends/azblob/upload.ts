import { createHash, randomBytes } from 'node:crypto'
import type { Readable } from 'node:stream'
import type { BlockBlobClient } from '@azure/storage-blob'
import type { Descriptor } from '../../../core/descriptor.ts'
import { FailedPreconditionError } from '../../../core/errors.ts'
import { SourceStreamError } from '../../remote/source-error.ts'

export interface StagedUploadOptions {
  blob: BlockBlobClient
  uri: string
  desc: Pick<Descriptor, 'digest' | 'size' | 'mediaType'>
  source: Readable
  blockSize: number
  concurrency: number
  /** Commit with `If-None-Match: *` (BuildKit's create-only upload); false replaces a bad existing blob. */
  createOnly: boolean
  signal?: AbortSignal | undefined
}


/**
 * Streams `source` into a block blob: blocks of `blockSize` bytes are staged with at most
 * `concurrency` in flight while the bytes are hashed; the block list is committed only after the
 * size and sha256 match `desc`. Staged but uncommitted blocks are invisible (Azure discards them
 * after a week), so a wrong body, a failure or an abort leaves nothing under the name. Block ids
 * carry a random per-upload tag, so concurrent uploads of the same blob cannot mix blocks.
 * Returns false when a create-only commit found the blob already there (a concurrent writer won).
 */
export async function uploadStaged(o: StagedUploadOptions): Promise<boolean> {
  const { desc, signal } = o
  const tag = randomBytes(6).toString('hex')
  const ids: string[] = []
  const inflight = new Set<Promise<void>>()
  let failure: unknown
  const hash = createHash('sha256')
  let n = 0
  let pending: Buffer[] = []
  let pendingLen = 0

  const stage = async (data: Buffer): Promise<void> => {
    const id = Buffer.from(`${tag}-${String(ids.length).padStart(6, '0')}`).toString('base64')
    ids.push(id)
    while (inflight.size >= o.concurrency) await Promise.race(inflight)
    if (failure !== undefined) throw failure
    const p: Promise<void> = o.blob
      .stageBlock(id, data, data.length, signal ? { abortSignal: signal } : {})
      .then(
        () => undefined,
        (e: unknown) => {
          failure ??= e
        },
      )
      .finally(() => inflight.delete(p))
    inflight.add(p)
  }
  const flush = async (): Promise<void> => {
    if (pendingLen === 0) return
    const data = pending.length === 1 ? (pending[0] as Buffer) : Buffer.concat(pending, pendingLen)
    pending = []
    pendingLen = 0
    await stage(data)
  }

  try {
    try {
      for await (const chunk of o.source) {
        if (signal?.aborted) throw signal.reason
        const b = typeof chunk === 'string' ? Buffer.from(chunk) : (chunk as Buffer)
        n += b.length
        if (n > desc.size)
          throw new FailedPreconditionError(`azblob cache: upload ${o.uri}: body is larger than the expected ${desc.size} bytes`, {
            code: 'ERR_CACHE_SIZE_MISMATCH',
          })
        hash.update(b)
        pending.push(b)
        pendingLen += b.length
        if (pendingLen >= o.blockSize) await flush()
        if (failure !== undefined) throw failure
      }
    } catch (e) {
      if (e === failure || e instanceof FailedPreconditionError || (signal?.aborted && e === signal.reason)) throw e
      throw new SourceStreamError(e)
    }
    await flush()
    while (inflight.size > 0) await Promise.race(inflight)
    if (failure !== undefined) throw failure
    if (n !== desc.size)
      throw new FailedPreconditionError(`azblob cache: upload ${o.uri}: body has ${n} bytes, expected ${desc.size}`, { code: 'ERR_CACHE_SIZE_MISMATCH' })
    const got = `sha256:${hash.digest('hex')}`
    if (got !== desc.digest)
      throw new FailedPreconditionError(`azblob cache: upload ${o.uri}: body digest ${got} does not match ${desc.digest}`, {
        code: 'ERR_CACHE_DIGEST_MISMATCH',
      })
  } finally {
    o.source.destroy()
    await Promise.allSettled(inflight)
  }
  try {
    await o.blob.commitBlockList(ids, {
      blobHTTPHeaders: { blobContentType: desc.mediaType },
      ...(o.createOnly ? { conditions: { ifNoneMatch: '*' } } : {}),
      ...(signal ? { abortSignal: signal } : {}),
    })
    return true
  } catch (e) {
    const code = (e as { details?: { errorCode?: string }; code?: string }).details?.errorCode ?? (e as { code?: string }).code
    if (o.createOnly && (code === 'BlobAlreadyExists' || (e as { statusCode?: number }).statusCode === 409)) return false
    throw e
  }
}

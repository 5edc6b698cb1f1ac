/** Atomic file replacement and blob ingestion for the local cache layout (tmp → fsync → verify → rename → fsync dir). */
import { randomBytes } from 'node:crypto'
import { createWriteStream } from 'node:fs'
import { mkdir, open, rename, stat, unlink } from 'node:fs/promises'
import { dirname, join } from 'node:path'
import { type Readable, Transform, type TransformCallback } from 'node:stream'
import { pipeline } from 'node:stream/promises'
import type { Descriptor } from '../../../core/descriptor.ts'
import { type Digest, hexOf } from '../../../core/digest.ts'
import { FailedPreconditionError, throwIfAborted } from '../../../core/errors.ts'
import { HashingStream } from '../../../core/streams.ts'

export const tmpName = (prefix: string): string => `${prefix}-${process.pid}-${randomBytes(6).toString('hex')}.tmp`

export async function fsyncDir(dir: string): Promise<void> {
  const fh = await open(dir, 'r')
  try {
    await fh.sync()
  } finally {
    await fh.close()
  }
}

/** Writes `bytes` to `path` atomically: a temp file beside it, fsync, rename, fsync the directory. */
export async function writeFileAtomic(path: string, bytes: Uint8Array): Promise<void> {
  const tmp = join(dirname(path), `.${tmpName('write')}`)
  const fh = await open(tmp, 'wx', 0o644)
  try {
    await fh.writeFile(bytes)
    await fh.sync()
  } finally {
    await fh.close()
  }
  try {
    await rename(tmp, path)
  } catch (err) {
    await unlink(tmp).catch(() => {})
    throw err
  }
  await fsyncDir(dirname(path))
}

/** Fails the stream as soon as more than `max` bytes pass. */
function sizeGuard(max: number, what: string): Transform {
  let n = 0
  return new Transform({
    transform(chunk: Buffer, _e, cb: TransformCallback) {
      n += chunk.length
      if (n > max) cb(new FailedPreconditionError(`${what}: size mismatch: more than the expected ${max} bytes`, { code: 'ERR_CACHE_SIZE_MISMATCH' }))
      else cb(null, chunk)
    },
  })
}

/**
 * Streams `body` into `<root>/blobs/sha256/<hex>`: written under `<root>/ingest/`, size and digest
 * verified, fsynced, then renamed into place. On any failure (mismatch, source error, abort) the
 * temp file is removed and nothing is visible; an abort rejects with the signal's reason.
 */
export async function ingestBlob(root: string, desc: Pick<Descriptor, 'digest' | 'size'>, body: Readable, signal: AbortSignal | undefined): Promise<void> {
  const what = `blob ${desc.digest}`
  const ingest = join(root, 'ingest')
  await mkdir(ingest, { recursive: true })
  await mkdir(join(root, 'blobs', 'sha256'), { recursive: true })
  const tmp = join(ingest, tmpName(hexOf(desc.digest).slice(0, 12)))
  const hasher = new HashingStream()
  try {
    await pipeline(body, sizeGuard(desc.size, what), hasher, createWriteStream(tmp, { flags: 'wx', mode: 0o644 }), signal ? { signal } : {})
    if (hasher.size !== desc.size) {
      throw new FailedPreconditionError(`${what}: size mismatch: expected ${desc.size} bytes, got ${hasher.size}`, { code: 'ERR_CACHE_SIZE_MISMATCH' })
    }
    const got = hasher.digest()
    if (got !== desc.digest) {
      throw new FailedPreconditionError(`${what}: digest mismatch: the bytes hash to ${got}`, { code: 'ERR_CACHE_DIGEST_MISMATCH' })
    }
    const fh = await open(tmp, 'r')
    try {
      await fh.sync()
    } finally {
      await fh.close()
    }
    throwIfAborted(signal)
    await rename(tmp, blobPath(root, desc.digest))
    await fsyncDir(join(root, 'blobs', 'sha256'))
  } catch (err) {
    await unlink(tmp).catch(() => {})
    if (signal?.aborted) throw signal.reason
    throw err
  }
}

export const blobPath = (root: string, d: Digest): string => join(root, 'blobs', 'sha256', hexOf(d))

/** Size and mtime of a committed blob, or undefined. */
export async function statBlobFile(root: string, d: Digest): Promise<{ size: number; mtime: Date } | undefined> {
  try {
    const st = await stat(blobPath(root, d))
    return st.isFile() ? { size: st.size, mtime: st.mtime } : undefined
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT' || (err as NodeJS.ErrnoException).code === 'ENOTDIR') return undefined
    throw err
  }
}

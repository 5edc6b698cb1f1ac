import { createHash, randomBytes } from 'node:crypto'
import { createReadStream, createWriteStream } from 'node:fs'
import { mkdir, open, rename, rm, stat, unlink } from 'node:fs/promises'
import { join } from 'node:path'
import { Writable } from 'node:stream'
import type { Descriptor } from '../core/descriptor.ts'
import { type Digest, hexOf } from '../core/digest.ts'
import { FailedPreconditionError, NotFoundError } from '../core/errors.ts'
import type { BlobInfo, BlobStore, BlobWriter, CallOpts } from './blob-store.ts'

/**
 * A content-addressed blob store in a directory laid out as an OCI image layout's `blobs/`:
 * `<root>/blobs/sha256/<hex>`, with in-progress writes under `<root>/ingest/`.
 */
export function createLocalBlobStore(root: string): BlobStore {
  const blobPath = (d: Digest): string => join(root, 'blobs', 'sha256', hexOf(d))
  let dirsReady: Promise<void> | undefined
  const ensureDirs = (): Promise<void> => {
    dirsReady ??= Promise.all([
      mkdir(join(root, 'blobs', 'sha256'), { recursive: true }),
      mkdir(join(root, 'ingest'), { recursive: true }),
    ]).then(() => undefined)
    return dirsReady
  }

  return {
    path: blobPath,
    async stat(d: Digest): Promise<BlobInfo | undefined> {
      try {
        const st = await stat(blobPath(d))
        return { digest: d, size: st.size }
      } catch {
        return undefined
      }
    },
    async open(desc: Pick<Descriptor, 'digest'>, o: CallOpts & { start?: number } = {}) {
      const p = blobPath(desc.digest)
      const fh = await open(p, 'r').catch((err: NodeJS.ErrnoException) => {
        if (err.code === 'ENOENT') throw new NotFoundError(`content ${desc.digest}: not found`, { code: 'ERR_CONTENT_NOT_FOUND' })
        throw err
      })
      const opts: Parameters<typeof createReadStream>[1] = { fd: fh, highWaterMark: 1 << 20 }
      if (o.start) opts.start = o.start
      if (o.signal) opts.signal = o.signal
      return createReadStream(p, opts)
    },
    async writer(o: CallOpts = {}): Promise<BlobWriter> {
      await ensureDirs()
      const tmp = join(root, 'ingest', `${Date.now()}-${randomBytes(6).toString('hex')}`)
      return new LocalWriter(tmp, blobPath, o.signal)
    },
    async delete(d: Digest): Promise<void> {
      await rm(blobPath(d), { force: true })
    },
    async ingestPath(): Promise<string> {
      await ensureDirs()
      return join(root, 'ingest', `${Date.now()}-${randomBytes(6).toString('hex')}`)
    },
    async adopt(tmp: string, info: BlobInfo): Promise<BlobInfo> {
      const st = await stat(tmp)
      if (st.size !== info.size) {
        await rm(tmp, { force: true })
        throw new FailedPreconditionError(`content ${info.digest}: size mismatch: expected ${info.size} bytes, got ${st.size}`, { code: 'ERR_CONTENT_SIZE_MISMATCH' })
      }
      await rename(tmp, blobPath(info.digest))
      return info
    },
  }
}

class LocalWriter implements BlobWriter {
  readonly stream: Writable
  #file: ReturnType<typeof createWriteStream>
  #hash = createHash('sha256')
  #offset = 0
  #digest: Digest | undefined
  #tmp: string
  #blobPath: (d: Digest) => string

  constructor(tmp: string, blobPath: (d: Digest) => string, signal?: AbortSignal) {
    this.#tmp = tmp
    this.#blobPath = blobPath
    this.#file = createWriteStream(tmp, { flags: 'wx', ...(signal ? { signal } : {}) })
    const file = this.#file
    const hash = this.#hash
    // A thin Writable in front of the file that hashes and counts on the way through.
    this.stream = new Writable({
      highWaterMark: 1 << 20,
      write: (chunk: Buffer, _enc, cb) => {
        hash.update(chunk)
        this.#offset += chunk.length
        if (file.write(chunk)) cb()
        else file.once('drain', () => cb())
      },
      final: (cb) => {
        file.end((err?: Error | null) => cb(err ?? null))
      },
      destroy: (err, cb) => {
        file.destroy()
        cb(err)
      },
    })
  }

  get offset(): number {
    return this.#offset
  }

  digest(): Digest {
    this.#digest ??= `sha256:${this.#hash.digest('hex')}` as Digest
    return this.#digest
  }

  async commit(expected?: Pick<Descriptor, 'digest' | 'size'>): Promise<BlobInfo> {
    if (!this.stream.writableFinished) {
      await new Promise<void>((resolve, reject) => {
        this.stream.once('error', reject)
        this.stream.end(() => resolve())
      })
    }
    if (!this.#file.closed) await new Promise<void>((resolve) => this.#file.once('close', () => resolve()))
    const digest = this.digest()
    try {
      if (expected && expected.size >= 0 && expected.size !== this.#offset) {
        throw new FailedPreconditionError(
          `content ${expected.digest}: size mismatch: expected ${expected.size} bytes, got ${this.#offset}`,
          { code: 'ERR_CONTENT_SIZE_MISMATCH' },
        )
      }
      if (expected && expected.digest !== digest) {
        throw new FailedPreconditionError(`content ${expected.digest}: digest mismatch: the bytes hash to ${digest}`, {
          code: 'ERR_CONTENT_DIGEST_MISMATCH',
        })
      }
      const fh = await open(this.#tmp, 'r')
      try {
        await fh.sync()
      } finally {
        await fh.close()
      }
      await rename(this.#tmp, this.#blobPath(digest))
      return { digest, size: this.#offset }
    } catch (err) {
      await unlink(this.#tmp).catch(() => {})
      throw err
    }
  }

  async abort(): Promise<void> {
    this.stream.destroy()
    await unlink(this.#tmp).catch(() => {})
  }
}

/**
 * `type=local`: the cache lives in an OCI image layout directory (`oci-layout`, `index.json`,
 * `blobs/sha256/<hex>`), as BuildKit's local cache backend writes it. Refs are tags in index.json
 * (`org.opencontainers.image.ref.name`); a ref name that is a digest reads that manifest blob
 * directly (the `digest=` import attribute). Blobs are ingested atomically (tmp, verify, rename);
 * writeRef writes the manifest blob, then replaces index.json atomically under a lock, keeping
 * every other tag, so concurrent exporters leave an intact index and a killed export leaves the
 * previous ref in place.
 */
import { createReadStream } from 'node:fs'
import { link, mkdir, open, readFile, rename, stat, unlink } from 'node:fs/promises'
import { join } from 'node:path'
import { Readable } from 'node:stream'
import type { Descriptor } from '../../../core/descriptor.ts'
import { type Digest, hexOf, isDigest, sha256 } from '../../../core/digest.ts'
import { FailedPreconditionError, InvalidArgumentError, NotFoundError, throwIfAborted } from '../../../core/errors.ts'
import { readAllLimited } from '../../../core/streams.ts'
import { MAX_CONFIG_SIZE } from '../../format/media.ts'
import type { CacheTransport, CallOpts, RemoteBlobInfo } from '../../remote/transport.ts'
import { blobPath, ingestBlob, statBlobFile, writeFileAtomic } from './fs-atomic.ts'
import { findTag, indexPath, OCI_LAYOUT, putTag, readIndex } from './layout.ts'
import { withLock } from './lock.ts'

export interface LocalTransportOptions {
  /** The layout directory (`dest` on export, created if missing; `src` on import). */
  dir: string
  /** `import` opens read-only: putBlob and writeRef reject. */
  mode: 'export' | 'import'
  /** Age after which an index.json.lock is treated as abandoned (default 10 s). */
  staleLockMs?: number
}

export interface LocalCacheTransport extends CacheTransport {
  readonly kind: 'local'
  readonly dir: string
  /** The index.json descriptor of a tag (or the blob of a digest), or undefined. */
  resolveRef(name: string, o?: CallOpts): Promise<Descriptor | undefined>
}

const TAG_RE = /^[\w][\w.-]{0,127}$/

export function createLocalTransport(opts: LocalTransportOptions): LocalCacheTransport {
  const { dir } = opts
  const writable = (op: string): void => {
    if (opts.mode !== 'export')
      throw new InvalidArgumentError(`local cache ${dir}: ${op} on a cache opened for import`, { hint: 'open it with mode: "export"' })
  }

  const resolveRef = async (name: string, o: CallOpts = {}): Promise<Descriptor | undefined> => {
    throwIfAborted(o.signal)
    if (isDigest(name)) {
      const st = await statBlobFile(dir, name)
      return st ? { mediaType: '', digest: name, size: st.size } : undefined
    }
    const index = await readIndex(dir)
    return index ? findTag(index, name) : undefined
  }

  const t: LocalCacheTransport = {
    kind: 'local',
    refForm: 'manifest',
    location: `local:${dir}`,
    dir,
    resolveRef,

    async statBlob(d: Digest, o: CallOpts = {}): Promise<RemoteBlobInfo | undefined> {
      throwIfAborted(o.signal)
      const st = await statBlobFile(dir, d)
      return st ? { digest: d, size: st.size, lastModified: st.mtime } : undefined
    },

    async openBlob(desc: Pick<Descriptor, 'digest' | 'size'>, o: CallOpts = {}): Promise<Readable> {
      throwIfAborted(o.signal)
      const path = blobPath(dir, desc.digest)
      const fh = await open(path, 'r').catch((err: NodeJS.ErrnoException) => {
        if (err.code === 'ENOENT') throw new NotFoundError(`local cache ${dir}: blob ${desc.digest} not found`, { code: 'ERR_CACHE_BLOB_MISSING' })
        throw err
      })
      const st = await fh.stat()
      if (desc.size > 0 && st.size !== desc.size) {
        await fh.close()
        throw new FailedPreconditionError(`local cache ${dir}: blob ${desc.digest} has ${st.size} bytes, expected ${desc.size}`, {
          code: 'ERR_CACHE_SIZE_MISMATCH',
        })
      }
      const stream = createReadStream(path, { fd: fh, highWaterMark: 1 << 20 })
      const signal = o.signal
      if (signal) {
        const onAbort = (): void => {
          stream.destroy(signal.reason)
        }
        signal.addEventListener('abort', onAbort, { once: true })
        stream.once('close', () => signal.removeEventListener('abort', onAbort))
      }
      return stream
    },

    async putBlob(desc, body, o: CallOpts = {}): Promise<void> {
      throwIfAborted(o.signal)
      writable('putBlob')
      const have = await statBlobFile(dir, desc.digest)
      if (have) {
        if (have.size === desc.size) return
        throw new FailedPreconditionError(`local cache ${dir}: blob ${desc.digest} exists with ${have.size} bytes, not ${desc.size}`, {
          code: 'ERR_CACHE_SIZE_MISMATCH',
        })
      }
      await ingestBlob(dir, desc, await body(), o.signal)
    },

    async putBlobFile(desc, path, o: CallOpts = {}): Promise<void> {
      throwIfAborted(o.signal)
      writable('putBlob')
      if (await statBlobFile(dir, desc.digest)) return t.putBlob(desc, () => createReadStream(path), o)
      // Same filesystem: a hard link into ingest/, then the usual atomic rename (the source is a
      // verified content-store blob, and blobs are never modified in place).
      const tmp = join(dir, 'ingest', `${hexOf(desc.digest).slice(0, 12)}-${process.pid}-${Date.now()}.link`)
      try {
        await mkdir(join(dir, 'ingest'), { recursive: true })
        await mkdir(join(dir, 'blobs', 'sha256'), { recursive: true })
        await link(path, tmp)
        if ((await stat(tmp)).size !== desc.size) throw new FailedPreconditionError(`local cache ${dir}: ${path} is not ${desc.size} bytes`)
        await rename(tmp, blobPath(dir, desc.digest))
      } catch (err) {
        await unlink(tmp).catch(() => {})
        if (err instanceof FailedPreconditionError) throw err
        await t.putBlob(desc, () => createReadStream(path), o) // another filesystem, or links not allowed
      }
    },

    async readRef(name: string, o: CallOpts = {}): Promise<Uint8Array | undefined> {
      const desc = await resolveRef(name, o)
      if (!desc) return undefined
      if (desc.size > MAX_CONFIG_SIZE) {
        throw new FailedPreconditionError(`local cache ${dir}: ${name} points to a ${desc.size}-byte document (limit ${MAX_CONFIG_SIZE})`, {
          code: 'ERR_CACHE_TOO_LARGE',
        })
      }
      let s: Readable
      try {
        s = await t.openBlob(desc, o)
      } catch (err) {
        if (err instanceof NotFoundError) {
          throw new FailedPreconditionError(`local cache ${dir}: tag ${JSON.stringify(name)} points to missing blob ${desc.digest}`, {
            code: 'ERR_CACHE_LAYOUT_CORRUPT',
            cause: err,
            hint: 'the blob was deleted; export the cache again',
          })
        }
        throw err
      }
      const bytes = await readAllLimited(s, MAX_CONFIG_SIZE, `local cache ${dir}: ${name}`)
      if (sha256(bytes) !== desc.digest) {
        throw new FailedPreconditionError(`local cache ${dir}: blob ${desc.digest} for ${name} is corrupt (digest mismatch)`, {
          code: 'ERR_CACHE_DIGEST_MISMATCH',
        })
      }
      return new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength)
    },

    async writeRef(name: string, doc: Uint8Array, mediaType: string, o: CallOpts = {}): Promise<void> {
      throwIfAborted(o.signal)
      writable('writeRef')
      if (!TAG_RE.test(name)) {
        throw new InvalidArgumentError(`local cache ${dir}: invalid tag ${JSON.stringify(name)}`, {
          hint: 'tags are up to 128 characters of [A-Za-z0-9_.-], not starting with . or -',
        })
      }
      if (doc.byteLength > MAX_CONFIG_SIZE)
        throw new InvalidArgumentError(`local cache ${dir}: ref document is ${doc.byteLength} bytes (limit ${MAX_CONFIG_SIZE})`)
      const desc: Descriptor = { mediaType, digest: sha256(doc), size: doc.byteLength }
      await mkdir(dir, { recursive: true })
      // the marker file beside the document (written once: every writer writes the same bytes), then the index
      const layoutFile = join(dir, 'oci-layout')
      const marker = readFile(layoutFile, 'utf8').then(
        (have) => (have === OCI_LAYOUT ? undefined : writeFileAtomic(layoutFile, Buffer.from(OCI_LAYOUT))),
        () => writeFileAtomic(layoutFile, Buffer.from(OCI_LAYOUT)),
      )
      await Promise.all([t.putBlob(desc, () => Readable.from([Buffer.from(doc)]), o), marker])
      await withLock(
        join(dir, 'index.json.lock'),
        async () => {
          throwIfAborted(o.signal)
          const index = await readIndex(dir)
          throwIfAborted(o.signal)
          await writeFileAtomic(indexPath(dir), putTag(index, name, desc))
        },
        { signal: o.signal, ...(opts.staleLockMs === undefined ? {} : { staleMs: opts.staleLockMs }) },
      )
    },
  }
  return t
}

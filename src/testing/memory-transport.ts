/**
 * An in-memory CacheTransport fake for exporter/importer unit tests (holds blobs in memory, so keep
 * them small). It verifies uploads and honours abort signals like a real transport. Test-only.
 */
import { createHash } from 'node:crypto'
import { Readable } from 'node:stream'
import type { CacheTransport, CallOpts, RemoteBlobInfo } from '../cache/remote/transport.ts'
import type { Descriptor } from '../core/descriptor.ts'
import type { Digest } from '../core/digest.ts'
import { FailedPreconditionError, NotFoundError, throwIfAborted } from '../core/errors.ts'

export interface MemoryTransport extends CacheTransport {
  readonly blobs: Map<Digest, Buffer>
  readonly refs: Map<string, { doc: Uint8Array; mediaType: string }>
}

export function createMemoryTransport(o: { refForm?: 'manifest' | 'config'; now?: () => Date } = {}): MemoryTransport {
  const blobs = new Map<Digest, Buffer>()
  const times = new Map<Digest, Date>()
  const refs = new Map<string, { doc: Uint8Array; mediaType: string }>()
  const now = o.now ?? (() => new Date(0))
  return {
    kind: 'local',
    refForm: o.refForm ?? 'manifest',
    location: 'memory:',
    blobs,
    refs,
    async statBlob(d: Digest, c: CallOpts = {}): Promise<RemoteBlobInfo | undefined> {
      throwIfAborted(c.signal)
      const b = blobs.get(d)
      return b ? { digest: d, size: b.length, lastModified: times.get(d) as Date } : undefined
    },
    async openBlob(desc: Pick<Descriptor, 'digest' | 'size'>, c: CallOpts = {}): Promise<Readable> {
      throwIfAborted(c.signal)
      const b = blobs.get(desc.digest)
      if (!b) throw new NotFoundError(`memory: blob ${desc.digest} not found`, { code: 'ERR_CACHE_BLOB_MISSING' })
      return Readable.from([b])
    },
    async putBlob(desc, body, c: CallOpts = {}): Promise<void> {
      throwIfAborted(c.signal)
      if (blobs.has(desc.digest)) return
      const h = createHash('sha256')
      const parts: Buffer[] = []
      let n = 0
      try {
        for await (const chunk of await body()) {
          throwIfAborted(c.signal)
          h.update(chunk as Buffer)
          parts.push(chunk as Buffer)
          n += (chunk as Buffer).length
          if (n > desc.size) throw new FailedPreconditionError(`memory: blob ${desc.digest}: more than ${desc.size} bytes`)
        }
      } catch (err) {
        if (c.signal?.aborted) throw c.signal.reason
        throw err
      }
      throwIfAborted(c.signal)
      const got = `sha256:${h.digest('hex')}`
      if (n !== desc.size || got !== desc.digest) throw new FailedPreconditionError(`memory: blob ${desc.digest}: got ${n} bytes hashing to ${got}`)
      blobs.set(desc.digest, Buffer.concat(parts))
      times.set(desc.digest, now())
    },
    async readRef(name: string, c: CallOpts = {}): Promise<Uint8Array | undefined> {
      throwIfAborted(c.signal)
      return refs.get(name)?.doc
    },
    async writeRef(name: string, doc: Uint8Array, mediaType: string, c: CallOpts = {}): Promise<void> {
      throwIfAborted(c.signal)
      refs.set(name, { doc: Uint8Array.from(doc), mediaType })
    },
  }
}

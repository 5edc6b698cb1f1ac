/**
 * A fault-injecting CacheTransport decorator for importer/exporter tests: blobs can be made to
 * vanish, arrive truncated (the stream ends early without error) or arrive with one bit flipped.
 * Everything else is delegated. Test-only.
 */
import { type Readable, Transform, type TransformCallback } from 'node:stream'
import { pipeline } from 'node:stream/promises'
import type { CacheTransport, CallOpts, RemoteBlobInfo } from '../cache/remote/transport.ts'
import type { Descriptor } from '../core/descriptor.ts'
import type { Digest } from '../core/digest.ts'
import { NotFoundError, UnavailableError } from '../core/errors.ts'

export interface Faults {
  /** statBlob → undefined, openBlob → NotFoundError. */
  missing?: Digest[]
  /** openBlob yields only the first half of the bytes, then ends normally. */
  truncate?: Digest[]
  /** openBlob flips the lowest bit of the byte at size/2. */
  bitflip?: Digest[]
  /** openBlob rejects with UnavailableError (a retryable failure). */
  unavailable?: Digest[]
}

export interface FaultyTransport extends CacheTransport {
  /** How often each method was called, for assertions. */
  readonly calls: Record<'statBlob' | 'openBlob' | 'putBlob' | 'readRef' | 'writeRef', number>
}

export function faultyTransport(inner: CacheTransport, faults: Faults): FaultyTransport {
  const has = (list: Digest[] | undefined, d: Digest): boolean => list?.includes(d) ?? false
  const calls = { statBlob: 0, openBlob: 0, putBlob: 0, readRef: 0, writeRef: 0 }
  const t: FaultyTransport = {
    kind: inner.kind,
    refForm: inner.refForm,
    location: `${inner.location} (faulty)`,
    calls,
    async statBlob(d: Digest, o?: CallOpts): Promise<RemoteBlobInfo | undefined> {
      calls.statBlob++
      if (has(faults.missing, d)) return undefined
      return inner.statBlob(d, o)
    },
    async openBlob(desc: Pick<Descriptor, 'digest' | 'size'>, o?: CallOpts): Promise<Readable> {
      calls.openBlob++
      if (has(faults.missing, desc.digest)) throw new NotFoundError(`blob ${desc.digest} not found (injected fault)`, { code: 'ERR_CACHE_BLOB_MISSING' })
      if (has(faults.unavailable, desc.digest)) throw new UnavailableError(`blob ${desc.digest} unavailable (injected fault)`)
      const s = await inner.openBlob(desc, o)
      if (has(faults.truncate, desc.digest)) return through(s, cut(Math.floor(desc.size / 2)))
      if (has(faults.bitflip, desc.digest)) return through(s, flip(Math.floor(desc.size / 2)))
      return s
    },
    async putBlob(desc, body, o) {
      calls.putBlob++
      return inner.putBlob(desc, body, o)
    },
    async readRef(name, o) {
      calls.readRef++
      return inner.readRef(name, o)
    },
    async writeRef(name, doc, mediaType, o) {
      calls.writeRef++
      return inner.writeRef(name, doc, mediaType, o)
    },
  }
  if (inner.touchBlob) t.touchBlob = inner.touchBlob.bind(inner)
  return t
}

/** Runs `src` through `t` and hands `t` to the consumer; a failure on either side destroys `t`. */
function through(src: Readable, t: Transform): Readable {
  pipeline(src, t).catch(() => {})
  return t
}

function cut(limit: number): Transform {
  let seen = 0
  return new Transform({
    transform(chunk: Buffer, _e, cb: TransformCallback) {
      const take = Math.max(0, Math.min(chunk.length, limit - seen))
      seen += chunk.length
      cb(null, take > 0 ? chunk.subarray(0, take) : undefined)
    },
  })
}

function flip(at: number): Transform {
  let offset = 0
  return new Transform({
    transform(chunk: Buffer, _e, cb: TransformCallback) {
      if (at >= offset && at < offset + chunk.length) {
        const copy = Buffer.from(chunk)
        copy[at - offset] = (copy[at - offset] as number) ^ 1
        chunk = copy
      }
      offset += chunk.length
      cb(null, chunk)
    },
  })
}

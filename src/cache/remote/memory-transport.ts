import { Readable } from 'node:stream'
import { type Digest, sha256 } from '../../core/digest.ts'
import { FailedPreconditionError, NotFoundError } from '../../core/errors.ts'
import { readAllLimited } from '../../core/streams.ts'
import type { CacheTransport } from './transport.ts'

/** An in-memory CacheTransport (tests, and `--cache-to` dry runs). Counts uploads. */
export function createMemoryTransport(refForm: 'manifest' | 'config' = 'manifest'): CacheTransport & { blobs: Map<Digest, Buffer>; refs: Map<string, Buffer>; puts: number } {
  const blobs = new Map<Digest, Buffer>()
  const refs = new Map<string, Buffer>()
  const t = {
    kind: 'local' as const,
    refForm,
    location: 'memory',
    blobs,
    refs,
    puts: 0,
    async statBlob(d: Digest) {
      const b = blobs.get(d)
      return b ? { digest: d, size: b.length } : undefined
    },
    async openBlob(desc: { digest: Digest }) {
      const b = blobs.get(desc.digest)
      if (!b) throw new NotFoundError(`memory: blob ${desc.digest} not found`)
      return Readable.from([b])
    },
    async putBlob(desc: { digest: Digest; size: number }, body: () => Promise<Readable> | Readable) {
      const bytes = await readAllLimited(await body(), 1 << 30, `blob ${desc.digest}`)
      if (sha256(bytes) !== desc.digest || bytes.length !== desc.size) throw new FailedPreconditionError(`memory: blob ${desc.digest}: digest or size mismatch`)
      t.puts++
      blobs.set(desc.digest, bytes)
    },
    async readRef(name: string) {
      return refs.get(name)
    },
    async writeRef(name: string, doc: Uint8Array) {
      refs.set(name, Buffer.from(doc))
    },
  }
  return t
}

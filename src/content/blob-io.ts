import { Readable } from 'node:stream'
import { pipeline } from 'node:stream/promises'
import type { Descriptor } from '../core/descriptor.ts'
import { sha256 } from '../core/digest.ts'
import { readAllLimited } from '../core/streams.ts'
import type { BlobIngester, BlobProvider, CallOpts } from './blob-store.ts'

/** Writes a small in-memory blob (a manifest or config) and returns its descriptor. */
export async function writeBlob(store: BlobIngester & BlobProvider, mediaType: string, data: Uint8Array, o: CallOpts = {}): Promise<Descriptor> {
  const desc: Descriptor = { mediaType, digest: sha256(data), size: data.length }
  if (await store.stat(desc.digest)) return desc
  const w = await store.writer(o)
  try {
    await pipeline(Readable.from([Buffer.from(data)]), w.stream)
    await w.commit(desc)
  } catch (err) {
    await w.abort()
    throw err
  }
  return desc
}

/** Reads a small blob (≤ 1 MiB by default) fully; bigger ones are refused (manifests, configs). */
export async function readBlobJSON<T>(store: BlobProvider, desc: Pick<Descriptor, 'digest'>, limit = 1 << 20): Promise<T> {
  const s = await store.open(desc)
  const buf = await readAllLimited(s, limit, `blob ${desc.digest}`)
  return JSON.parse(buf.toString('utf8')) as T
}

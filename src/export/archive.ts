import { randomBytes } from 'node:crypto'
import { createWriteStream } from 'node:fs'
import { mkdir, rename, rm } from 'node:fs/promises'
import { dirname } from 'node:path'
import { pipeline } from 'node:stream/promises'
import type { BlobProvider } from '../content/blob-store.ts'
import type { Descriptor } from '../core/descriptor.ts'
import { hexOf } from '../core/digest.ts'
import { makeHeader } from '../layer/tar-header.ts'
import { type TarSourceEntry, tarStream } from '../layer/tar-writer.ts'
import { MediaType } from '../oci/media-types.ts'
import { parseImageRef } from '../oci/reference.ts'

export interface ArchiveImage {
  manifest: Descriptor
  config: Descriptor
  layers: readonly Descriptor[]
  /** Normalised names (`docker.io/library/app:latest`). */
  names: readonly string[]
}

const file = (name: string, data: Buffer): TarSourceEntry => ({ header: makeHeader({ name, type: 'file', mode: 0o644, size: data.length }), body: data })
const dir = (name: string): TarSourceEntry => ({ header: makeHeader({ name, type: 'directory', mode: 0o755 }) })

/** Docker-style short name for RepoTags: `docker.io/library/app:1` → `app:1`. */
function familiarName(name: string): string {
  return name.replace(/^docker\.io\/library\//, '').replace(/^docker\.io\//, '')
}

async function* entries(img: ArchiveImage, blobs: BlobProvider, format: 'oci' | 'docker', signal: AbortSignal): AsyncGenerator<TarSourceEntry> {
  yield dir('blobs/')
  yield dir('blobs/sha256/')
  const seen = new Set<string>()
  for (const d of [...img.layers, img.config, img.manifest]) {
    if (seen.has(d.digest)) continue
    seen.add(d.digest)
    yield {
      header: makeHeader({ name: `blobs/sha256/${hexOf(d.digest)}`, type: 'file', mode: 0o644, size: d.size }),
      body: async function* () {
        yield* (await blobs.open(d, { signal })) as AsyncIterable<Buffer>
      },
    }
  }
  const manifests = (img.names.length ? img.names : ['']).map((n) => {
    const annotations: Record<string, string> = {}
    if (n) {
      annotations['io.containerd.image.name'] = n
      const tag = parseImageRef(n).tag
      annotations['org.opencontainers.image.ref.name'] = format === 'oci' ? (tag ?? 'latest') : n
    }
    return { mediaType: img.manifest.mediaType, digest: img.manifest.digest, size: img.manifest.size, ...(n ? { annotations } : {}) }
  })
  yield file('index.json', Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: MediaType.ociIndex, manifests })))
  if (format === 'docker') {
    const m = [{ Config: `blobs/sha256/${hexOf(img.config.digest)}`, RepoTags: img.names.map(familiarName), Layers: img.layers.map((l) => `blobs/sha256/${hexOf(l.digest)}`) }]
    yield file('manifest.json', Buffer.from(JSON.stringify(m)))
  }
  yield file('oci-layout', Buffer.from('{"imageLayoutVersion":"1.0.0"}'))
}

/** Writes an OCI image layout (or `docker save`-compatible) tar at `dest`, atomically. */
export async function writeImageArchive(dest: string, img: ArchiveImage, blobs: BlobProvider, format: 'oci' | 'docker', signal: AbortSignal): Promise<void> {
  await mkdir(dirname(dest), { recursive: true })
  const tmp = `${dest}.${randomBytes(4).toString('hex')}.tmp`
  try {
    await pipeline(tarStream(entries(img, blobs, format, signal), { signal }), createWriteStream(tmp), { signal })
    await rename(tmp, dest)
  } catch (err) {
    await rm(tmp, { force: true })
    throw err
  }
}

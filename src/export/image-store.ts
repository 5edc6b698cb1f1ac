import { randomBytes } from 'node:crypto'
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import type { BlobStore } from '../content/blob-store.ts'
import type { Digest } from '../core/digest.ts'

export interface StoredImage {
  manifest: Digest
  config: Digest
  createdAt: string
}

/**
 * cairn's own image store: names (normalised references) → manifest digests, in
 * `<root>/index.json`; manifests, configs and layer blobs live in the content store.
 */
export class ImageStore {
  readonly blobs: BlobStore
  #file: string
  constructor(root: string, blobs: BlobStore) {
    this.#file = join(root, 'index.json')
    this.blobs = blobs
  }

  async list(): Promise<Record<string, StoredImage>> {
    try {
      return (JSON.parse(await readFile(this.#file, 'utf8')) as { images: Record<string, StoredImage> }).images
    } catch {
      return {}
    }
  }

  async get(name: string): Promise<StoredImage | undefined> {
    return (await this.list())[name]
  }

  async tag(names: readonly string[], img: StoredImage): Promise<void> {
    const images = await this.list()
    for (const n of names) images[n] = img
    await mkdir(join(this.#file, '..'), { recursive: true })
    const tmp = `${this.#file}.${randomBytes(4).toString('hex')}`
    await writeFile(tmp, JSON.stringify({ images }, null, 2))
    await rename(tmp, this.#file)
  }
}

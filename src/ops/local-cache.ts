import { randomBytes } from 'node:crypto'
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { type Digest, hexOf } from '../core/digest.ts'
import type { LayerStore } from '../snapshot/layer-store.ts'
import type { CacheLookup } from '../solver/types.ts'
import type { BuildRef } from './build-ref.ts'

interface Entry {
  layers: string[]
  name: string
  createdAt: number
}

/** Another place results can be found by key (an imported remote cache). */
export interface CacheSource {
  readonly name: string
  get(key: Digest, signal: AbortSignal): Promise<BuildRef | undefined>
}

/**
 * The local cache index: one small JSON file per cache key under `<root>/<hex>.json`, naming the
 * layer chain of the result. Files are written atomically (tmp + rename), so several cairn
 * processes can share a root. A key whose layers are gone is a miss.
 */
export function createLocalCache(root: string, layers: LayerStore, sources: readonly CacheSource[] = []): CacheLookup<BuildRef> {
  let ready: Promise<unknown> | undefined
  // Layers already checked in this process: a chain of n steps shares its lower layers, so each is checked once, not n times.
  const usable = new Map<string, Promise<boolean>>()
  const isUsable = (id: string): Promise<boolean> => {
    let p = usable.get(id)
    if (!p) {
      p = layers.get(id).then(async (rec) => rec !== undefined && (rec.blobs.length > 0 || (await layers.snapshotter.exists(id))))
      usable.set(id, p)
    }
    return p
  }
  return {
    async get(key, signal) {
      try {
        const e = JSON.parse(await readFile(join(root, `${hexOf(key)}.json`), 'utf8')) as Entry
        const ok = (await Promise.all(e.layers.map(isUsable))).every(Boolean)
        if (ok) return { ref: { kind: 'layers', layers: e.layers }, source: 'local' }
      } catch {
        /* not in the local index */
      }
      for (const s of sources) {
        const ref = await s.get(key, signal).catch(() => undefined)
        if (ref) return { ref, source: s.name }
      }
      return undefined
    },
    async put(keys, ref, name) {
      if (ref.kind !== 'layers') return
      ready ??= mkdir(root, { recursive: true })
      await ready
      const body = JSON.stringify({ layers: [...ref.layers], name, createdAt: Math.floor(Date.now() / 1000) } satisfies Entry)
      for (const key of keys) {
        const tmp = join(root, `.${hexOf(key)}.${randomBytes(4).toString('hex')}`)
        await writeFile(tmp, body)
        await rename(tmp, join(root, `${hexOf(key)}.json`))
      }
    },
  }
}

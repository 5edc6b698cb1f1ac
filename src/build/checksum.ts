import { join } from 'node:path'
import { mkdir, rm } from 'node:fs/promises'
import { contentKey } from '../contenthash/checksum.ts'
import { createContentHasher, createPatternFilter } from '../contenthash/index.ts'
import { createFileHashMemo, type FileHashMemo } from '../contenthash/memo.ts'
import type { Digest } from '../core/digest.ts'
import type { BuildRef } from '../ops/build-ref.ts'
import { hasWildcard } from '../ops/file/glob.ts'
import { mountAt, unmount } from '../snapshot/mount.ts'
import type { ContextChecksum } from './context.ts'
import type { State } from './state.ts'
import { mountPoint } from '../snapshot/mount-dirs.ts'

/**
 * Content checksums for cache keys (BuildKit's contenthash): of paths in the build context (with a
 * memo of file digests kept under --root, so unchanged files are not read again) and of paths in
 * a layer chain (hashed through a read-only view).
 */
export function makeChecksum(state: State): { context: ContextChecksum; ref: (ref: BuildRef, paths: readonly string[], signal: AbortSignal) => Promise<Digest>; flush(): Promise<void> } {
  let memo: Promise<FileHashMemo> | undefined
  const hashers = new Map<string, Promise<ReturnType<typeof createContentHasher>>>()
  const contextHasher = (dir: string, patterns: readonly string[]) => {
    let h = hashers.get(dir)
    if (!h) {
      memo ??= createFileHashMemo(join(state.root, 'memo', 'contenthash.json'))
      const filter = patterns.length ? { filter: createPatternFilter({ excludePatterns: patterns }) } : {}
      h = memo.then((m) => createContentHasher(dir, { mode: 'context', ...filter, memo: m }))
      hashers.set(dir, h)
    }
    return h
  }
  const context: ContextChecksum = async (dir, path, o) => (await contextHasher(dir, o.patterns)).checksum(path, { followLinks: o.followLinks, wildcard: o.wildcard })

  const ref = async (r: BuildRef, paths: readonly string[], signal: AbortSignal): Promise<Digest> => {
    if (r.kind === 'context') {
      const sums: Digest[] = []
      for (const p of paths) sums.push(await r.checksum(p, { followLinks: true, wildcard: hasWildcard(p) }))
      return contentKey(sums)
    }
    for (const id of r.layers) await state.layers.ensureSnapshot(id, signal)
    const [m] = await state.layers.snapshotter.view(r.layers)
    const view = mountPoint(state.workDir, `hash-${Date.now()}-${Math.random().toString(36).slice(2)}`)
    if (r.layers.length === 0) {
      const h = createContentHasher(join(state.root, 'snapshots', 'empty'), { mode: 'snapshot' })
      const sums: Digest[] = []
      for (const p of paths) sums.push(await h.checksum(p, { followLinks: true, wildcard: hasWildcard(p) }))
      return contentKey(sums)
    }
    await mountAt(m as NonNullable<typeof m>, view)
    try {
      const h = createContentHasher(view, { mode: 'snapshot' })
      const sums: Digest[] = []
      for (const p of paths) sums.push(await h.checksum(p, { followLinks: true, wildcard: hasWildcard(p) }))
      return contentKey(sums)
    } finally {
      await unmount(view)
      await rm(view, { recursive: true, force: true })
    }
  }
  const flush = async () => {
    if (!memo) return
    await mkdir(join(state.root, 'memo'), { recursive: true })
    await (await memo).save()
  }
  return { context, ref, flush }
}

import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { PatternMatcher, readDockerignore } from '../core/patternmatcher.ts'
import type { ContextRef } from '../ops/build-ref.ts'
import type { Digest } from '../core/digest.ts'

/** Reads `<Dockerfile>.dockerignore` (next to the Dockerfile) or the context's `.dockerignore`. */
export async function loadIgnorePatterns(contextDir: string, dockerfilePath: string): Promise<string[]> {
  for (const p of [`${dockerfilePath}.dockerignore`, join(contextDir, '.dockerignore')]) {
    const text = await readFile(p, 'utf8').catch(() => undefined)
    if (text !== undefined) return readDockerignore(text)
  }
  return []
}

export type ContextChecksum = (dir: string, path: string, o: { followLinks: boolean; wildcard: boolean; patterns: readonly string[] }) => Promise<Digest>

/** The build context as a ContextRef. `.dockerignore` patterns hide files; checksums use BuildKit's contenthash. */
export function createContextRef(dir: string, patterns: readonly string[], checksum: ContextChecksum): ContextRef {
  const pm = patterns.length ? new PatternMatcher(patterns) : undefined
  // With `!` exceptions an excluded directory may still hold included files, so directories are
  // only skipped when no exception exists (files are always checked).
  const cache = new Map<string, boolean>()
  const isExcluded = (rel: string, isDir = false): boolean => {
    if (!pm || rel === '' || rel === '.') return false
    if (isDir && pm.exclusions) return false
    let hit = cache.get(rel)
    if (hit === undefined) {
      hit = pm.matchesOrParentMatches(rel)
      cache.set(rel, hit)
    }
    return hit
  }
  return {
    kind: 'context',
    dir,
    isExcluded,
    checksum: (path, o) => checksum(dir, path, { ...o, patterns }),
  }
}


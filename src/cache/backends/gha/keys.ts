import { createHash } from 'node:crypto'
import type { Digest } from '../../../core/digest.ts'
import { InvalidArgumentError } from '../../../core/errors.ts'

/**
 * Cache keys and the cache `version` exactly as BuildKit's gha backend names them
 * (buildkit-cache-format.md §3.4 "Key naming"), so cairn and BuildKit share one cache.
 */

/** `sha256("|go-actionscache-1.0")`: the version go-actions-cache sends with every key. */
export const GHA_CACHE_VERSION = createHash('sha256').update('|go-actionscache-1.0').digest('hex')

/** Blob entries: `buildkit-blob-1-<digest>`; no scope in the key, every index can share them. */
export function blobKey(d: Digest): string {
  return `buildkit-blob-1-${d}`
}

/** First 8 hex characters of sha256(GitHub scope string), e.g. `refs/heads/main` → `f921bd05`. */
export function scopeHash(githubScope: string): string {
  return createHash('sha256').update(githubScope).digest('hex').slice(0, 8)
}

/**
 * The index key `index-<scope attr>-1-<h8>`; each export writes a fresh entry `<indexKey>#<n>`
 * (SaveMutable). The `-sig` variant (signed caches) is not produced by cairn.
 */
export function indexKey(scopeAttr: string, githubScope: string): string {
  return `index-${scopeAttr}-1-${scopeHash(githubScope)}`
}

/** The `#<n>` suffix of a mutable entry key, or 0 when the key has none. */
export function mutableSeq(key: string, base: string): number {
  if (!key.startsWith(`${base}#`)) return 0
  const n = Number(key.slice(base.length + 1))
  return Number.isSafeInteger(n) && n > 0 ? n : 0
}

/** Cache keys are at most 512 characters and may not contain commas (v1 joins keys with them). */
export function checkScopeAttr(scopeAttr: string): string {
  if (scopeAttr === '' || scopeAttr.includes(',') || scopeAttr.length > 400) {
    throw new InvalidArgumentError(`invalid gha cache scope ${JSON.stringify(scopeAttr)}: must be non-empty, at most 400 characters, without commas`, {
      hint: 'set scope= to a short name such as the image name (scope=myimage)',
    })
  }
  return scopeAttr
}

/**
 * BuildKit-compatible content checksums (cache/contenthash): the digests that key COPY/ADD
 * sources and content-based RUN mounts. See buildkit-cache-keys.md §3.7.
 */
import type { Digest } from '../core/digest.ts'
import { type ChecksumOptions, checksumTree } from './checksum.ts'
import { DiskSource } from './disk.ts'
import { type ContextFilter, predicateFilter } from './filter.ts'
import type { HashMemo } from './memo.ts'
import { Tree } from './tree.ts'

export { type ChecksumOptions, contentKey } from './checksum.ts'
export { checksumEntries, createEntriesHasher, type EntrySpec } from './entries.ts'
export { type ContextFilter, createPatternFilter, type FilterDecision, type FilterState, predicateFilter } from './filter.ts'
export { createFileHashMemo, createMemoryHashMemo, type FileHashMemo, type FileHashMemoOptions, type FileIdentity, type HashMemo } from './memo.ts'
export { type EntryMeta, entryDigest, hashedXattrNames } from './tarsum.ts'

export interface ContentHasherOptions {
  /** `snapshot`: a stage/image filesystem; `context`: a local build context as the client sends it. */
  mode: 'snapshot' | 'context'
  /**
   * Context mode: entries the client does not send (`.dockerignore`), by path relative to the
   * root (`a/b`); an excluded directory drops its whole subtree. For `!` exceptions use `filter`.
   */
  exclude?: (relPath: string, isDir: boolean) => boolean
  /** Context mode: full fsutil include/exclude semantics (see createPatternFilter); wins over `exclude`. */
  filter?: ContextFilter
  /** Entry digests of unchanged files from earlier runs. */
  memo?: HashMemo
  /** Files read in parallel (default 16). */
  concurrency?: number
}

export interface ContentHasher {
  /**
   * BuildKit's Checksum(path, opts): the entry digest of a file or symlink, the directory digest
   * of a directory, or the file-list digest with wildcards / include / exclude patterns.
   * Throws NotFoundError (ERR_CONTENTHASH_NOT_FOUND) for a missing path.
   */
  checksum(path: string, opts?: ChecksumOptions): Promise<Digest>
}

/**
 * A hasher over the directory `root`. Directories are listed and files hashed only as queries
 * need them, and results are kept for the hasher's lifetime: create a new one after the tree
 * changes. Symlinks resolve inside `root` and never escape it.
 */
export function createContentHasher(root: string, opts: ContentHasherOptions): ContentHasher {
  const filter = opts.filter ?? (opts.exclude === undefined ? undefined : predicateFilter(opts.exclude))
  const tree = new Tree(new DiskSource(root, { mode: opts.mode, filter, memo: opts.memo, concurrency: opts.concurrency ?? 16 }))
  return { checksum: (path, o) => checksumTree(tree, path, o) }
}

/**
 * Path confinement for layer extraction. Entry names are normalised to root-relative paths
 * (absolute names and `..` escapes are refused), and every parent component is checked with
 * lstat to be a real directory, never a symlink, before anything is written below it.
 * Verified directories are remembered; removing or replacing a path forgets it. The calls
 * are synchronous: one lstat/mkdir is a few µs, far cheaper than a thread-pool round trip.
 */
import { lstatSync, mkdirSync, type Stats } from 'node:fs'
import { posix } from 'node:path'
import { FailedPreconditionError } from '../core/errors.ts'

export function refuse(entry: string, why: string): FailedPreconditionError {
  return new FailedPreconditionError(`layer: refusing entry ${JSON.stringify(entry)}: ${why}`, { code: 'ERR_LAYER_UNSAFE_PATH' })
}

/**
 * Normalises a tar entry name to a root-relative path without `./`, trailing `/` or `..`
 * (`''` for the root itself). Throws for absolute paths and paths escaping the root.
 */
export function normalizeEntryPath(name: string, entry: string = name): string {
  if (name.includes('\0')) throw refuse(entry, 'NUL in path')
  if (name.startsWith('/')) throw refuse(entry, 'absolute path')
  const n = posix.normalize(name)
  if (n === '..' || n.startsWith('../')) throw refuse(entry, 'path escapes the destination')
  if (posix.isAbsolute(n)) throw refuse(entry, 'absolute path')
  const trimmed = n.replace(/\/+$/, '')
  return trimmed === '.' ? '' : trimmed
}

export class ConfinedRoot {
  readonly root: string
  readonly #dirs = new Set<string>([''])
  /** Dirs created implicitly (missing parents), reported so callers can track them. */
  onImplicitDir: ((rel: string) => void) | undefined
  constructor(root: string) {
    this.root = root
  }
  abs(rel: string): string {
    return rel === '' ? this.root : `${this.root}/${rel}`
  }
  /**
   * Makes sure every parent component of `rel` is a real directory inside the root,
   * creating missing ones (0755) when `create` is set.
   */
  ensureParents(rel: string, entry: string, create: boolean): void {
    const parts = rel.split('/')
    let cur = ''
    for (let i = 0; i < parts.length - 1; i++) {
      cur = cur === '' ? parts[i] : `${cur}/${parts[i]}`
      if (this.#dirs.has(cur)) continue
      let st: Stats
      try {
        st = lstatSync(this.abs(cur))
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'ENOENT' || !create) throw err
        mkdirSync(this.abs(cur), 0o755)
        this.#dirs.add(cur)
        this.onImplicitDir?.(cur)
        continue
      }
      if (st.isSymbolicLink()) throw refuse(entry, `parent ${JSON.stringify(cur)} is a symlink`)
      if (!st.isDirectory()) throw refuse(entry, `parent ${JSON.stringify(cur)} is not a directory`)
      this.#dirs.add(cur)
    }
  }
  /** Records `rel` as a verified real directory. */
  markDir(rel: string): void {
    this.#dirs.add(rel)
  }
  /** Forgets `rel` and everything below it (it was removed or replaced). */
  forget(rel: string): void {
    if (!this.#dirs.delete(rel)) return
    const prefix = `${rel}/`
    for (const d of this.#dirs) if (d.startsWith(prefix)) this.#dirs.delete(d)
  }
}

/**
 * The lazily loaded file tree that BuildKit keeps as a radix tree of records (cache/contenthash
 * checksum.go). Keys there are paths with `/` → `\0`, so key order is a depth-first walk with
 * each directory's children sorted by name bytes; a directory has a DIR record (recursive digest)
 * and a DIR_HEADER record (its own entry digest). This module provides that order, symlink
 * resolution confined to the root (getFollowLinks) and the DIR digest, over any {@link TreeSource}.
 */
import { createHash } from 'node:crypto'
import { type Digest, digestFromHash } from '../core/digest.ts'
import { CairnError, NotFoundError } from '../core/errors.ts'

export type NodeType = 'file' | 'dir' | 'symlink'

/** One entry of the tree. `path` is absolute and clean (`/` for the root). */
export interface TreeNode<D = unknown> {
  readonly name: string
  readonly path: string
  /** `file` covers every non-directory, non-symlink entry (devices, fifos too). */
  readonly type: NodeType
  /** The symlink target, verbatim; empty otherwise. */
  readonly linkname: string
  /** Source-specific data (stat, spec). */
  readonly data: D
}

/** Where a tree's entries and entry digests come from. */
export interface TreeSource<D> {
  readonly root: TreeNode<D>
  /** The children of a directory, in any order. */
  list(dir: TreeNode<D>): readonly TreeNode<D>[]
  /** The entry digest of a file or symlink, or the header digest of a directory. */
  entryDigest(node: TreeNode<D>): Promise<Digest>
}

/** UTF-8 byte order (what the radix tree uses); JS order differs only around surrogates. */
export function compareNames(a: string, b: string): number {
  if (/[\ud800-\udfff]/.test(a + b)) return Buffer.compare(Buffer.from(a), Buffer.from(b))
  return a < b ? -1 : a > b ? 1 : 0
}

/** Go `path.Join("/", p...)` restricted to what the resolver needs: clean, absolute. */
export function joinAbs(...parts: string[]): string {
  const out: string[] = []
  for (const part of parts.join('/').split('/')) {
    if (part === '' || part === '.') continue
    if (part === '..') out.pop()
    else out.push(part)
  }
  return `/${out.join('/')}`
}

const MAX_SYMLINKS = 255

interface Listing<D> {
  sorted: TreeNode<D>[]
  byName: Map<string, TreeNode<D>>
}

export class Tree<D> {
  readonly source: TreeSource<D>
  readonly #listings = new Map<TreeNode<D>, Listing<D>>()
  readonly #headers = new Map<TreeNode<D>, Promise<Digest>>()
  readonly #dirs = new Map<TreeNode<D>, Promise<Digest>>()

  constructor(source: TreeSource<D>) {
    this.source = source
  }

  get root(): TreeNode<D> {
    return this.source.root
  }

  #listing(dir: TreeNode<D>): Listing<D> {
    let l = this.#listings.get(dir)
    if (l === undefined) {
      const sorted = [...this.source.list(dir)].sort((a, b) => compareNames(a.name, b.name))
      l = { sorted, byName: new Map(sorted.map((n) => [n.name, n])) }
      this.#listings.set(dir, l)
    }
    return l
  }

  /** A directory's children sorted by name bytes. */
  children(dir: TreeNode<D>): readonly TreeNode<D>[] {
    return dir.type === 'dir' ? this.#listing(dir).sorted : []
  }

  /** The node at a real path (no symlink resolution), if any. */
  get(path: string): TreeNode<D> | undefined {
    let node: TreeNode<D> | undefined = this.root
    for (const part of path.split('/')) {
      if (part === '') continue
      if (node === undefined || node.type !== 'dir') return undefined
      node = this.#listing(node).byName.get(part)
    }
    return node
  }

  /**
   * getFollowLinks: resolves `path` component by component, following symlinks (an absolute
   * target restarts at the root, `..` stops at the root); the final component only when
   * `followTrailing`. Returns the resolved real path and its node (undefined if missing).
   */
  resolve(path: string, followTrailing: boolean): { path: string; node: TreeNode<D> | undefined } {
    let current = '/'
    let remaining = path.replace(/^\/+/, '').replace(/\/+$/, '')
    let node: TreeNode<D> | undefined = this.root
    let links = 0
    while (remaining !== '') {
      const i = remaining.indexOf('/')
      const part = i < 0 ? remaining : remaining.slice(0, i)
      remaining = i < 0 ? '' : remaining.slice(i + 1)
      const next = joinAbs(current, part)
      node = this.get(next)
      if (node === undefined || node.type !== 'symlink') {
        current = next
        continue
      }
      if (!followTrailing && remaining === '') {
        current = next
        break
      }
      if (++links > MAX_SYMLINKS) throw new CairnError('ERR_TOO_MANY_LINKS', `too many links resolving ${path}`)
      remaining = `${node.linkname}/${remaining}`
      if (node.linkname.startsWith('/')) current = '/'
    }
    return { path: current, node }
  }

  /** Entry digest (file, symlink) or directory header digest, computed once. */
  entryDigest(node: TreeNode<D>): Promise<Digest> {
    let d = this.#headers.get(node)
    if (d === undefined) {
      d = this.source.entryDigest(node)
      this.#headers.set(node, d)
    }
    return d
  }

  /** The DIR record: sha256(`\0` header, then `\0`name digest per direct child in byte order). */
  dirDigest(dir: TreeNode<D>): Promise<Digest> {
    let d = this.#dirs.get(dir)
    if (d === undefined) {
      d = this.#computeDir(dir)
      this.#dirs.set(dir, d)
    }
    return d
  }

  async #computeDir(dir: TreeNode<D>): Promise<Digest> {
    const kids = this.children(dir)
    const [header, ...digests] = await Promise.all([this.entryDigest(dir), ...kids.map((k) => this.digestOf(k))])
    const h = createHash('sha256')
    h.update('\0')
    h.update(header)
    kids.forEach((k, i) => {
      h.update(`\0${k.name}`)
      h.update(digests[i] as string)
    })
    return digestFromHash(h)
  }

  /** DIR digest for directories, entry digest otherwise (symlinks are not followed). */
  digestOf(node: TreeNode<D>): Promise<Digest> {
    return node.type === 'dir' ? this.dirDigest(node) : this.entryDigest(node)
  }

  /** BuildKit lazyChecksum: resolve and digest, following the last component if asked. */
  async lazyChecksum(path: string, followTrailing: boolean): Promise<Digest> {
    const { node } = this.resolve(path, followTrailing)
    if (node === undefined) throw new NotFoundError(`${JSON.stringify(path)}: not found`, { code: 'ERR_CONTENTHASH_NOT_FOUND' })
    return this.digestOf(node)
  }

  /**
   * Records in key order for the subtree at `node`: DIR, DIR_HEADER, then each child's subtree.
   * `descend` (asked after the header was consumed) may prune a directory's children.
   */
  *records(node: TreeNode<D>, descend?: (dir: TreeNode<D>) => boolean): Generator<{ kind: 'dir' | 'header' | 'entry'; node: TreeNode<D> }> {
    if (node.type !== 'dir') {
      yield { kind: 'entry', node }
      return
    }
    yield { kind: 'dir', node }
    yield { kind: 'header', node }
    if (descend !== undefined && !descend(node)) return
    for (const child of this.children(node)) yield* this.records(child, descend)
  }
}

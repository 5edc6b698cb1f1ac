/**
 * A tree given as an explicit entry list (the form of BuildKit's test fixtures and of
 * goldens.json), hashed purely in memory.
 */
import type { Digest } from '../core/digest.ts'
import { InvalidArgumentError } from '../core/errors.ts'
import { type ChecksumOptions, checksumTree } from './checksum.ts'
import { type EntryMeta, entryDigest, type Typeflag } from './tarsum.ts'
import { joinAbs, Tree, type TreeNode, type TreeSource } from './tree.ts'

/** One file system entry as BuildKit hashes it. */
export interface EntrySpec {
  /** Absolute path; `/` is the root. Parents must be listed (or they are implied as 0755 dirs). */
  path: string
  type: 'file' | 'dir' | 'symlink' | 'hardlink' | 'char' | 'block' | 'fifo'
  /** Permission bits incl. setuid/setgid/sticky, e.g. 0o644. */
  mode: number
  uid?: number
  gid?: number
  /** Regular-file bytes (a string is UTF-8). */
  content?: string | Uint8Array | null
  /** Symlink target (verbatim) or, for `hardlink`, the absolute path of the linked file. */
  target?: string | null
  xattrs?: Readonly<Record<string, string | Uint8Array>>
  devmajor?: number
  devminor?: number
  /** Use this digest as the entry's (header) record instead of hashing its metadata. */
  headerDigest?: Digest | null
}

const TYPEFLAGS: Record<EntrySpec['type'], Typeflag> = { file: '0', hardlink: '0', dir: '5', symlink: '2', char: '3', block: '4', fifo: '6' }

interface Entry {
  spec: EntrySpec
  children: TreeNode<Entry>[]
}

function metaOf(spec: EntrySpec): EntryMeta {
  const content = spec.content ?? ''
  return {
    mode: spec.mode,
    uid: spec.uid ?? 0,
    gid: spec.gid ?? 0,
    typeflag: TYPEFLAGS[spec.type],
    size: typeof content === 'string' ? Buffer.byteLength(content) : content.length,
    linkname: spec.type === 'symlink' ? (spec.target ?? '') : '',
    devmajor: spec.devmajor ?? 0,
    devminor: spec.devminor ?? 0,
    xattrs: new Map(Object.entries(spec.xattrs ?? {}).map(([k, v]) => [k, typeof v === 'string' ? Buffer.from(v) : v])),
  }
}

class EntrySource implements TreeSource<Entry> {
  readonly root: TreeNode<Entry>
  readonly #byPath = new Map<string, TreeNode<Entry>>()

  constructor(entries: readonly EntrySpec[]) {
    const rootSpec = entries.find((e) => joinAbs(e.path) === '/') ?? { path: '/', type: 'dir', mode: 0o755 }
    this.root = { name: '', path: '/', type: 'dir', linkname: '', data: { spec: rootSpec, children: [] } }
    this.#byPath.set('/', this.root)
    for (const spec of entries) this.#add(joinAbs(spec.path), spec)
  }

  #add(path: string, spec: EntrySpec): TreeNode<Entry> {
    const existing = this.#byPath.get(path)
    if (existing !== undefined) {
      if (path !== '/' && existing.data.spec !== spec) throw new InvalidArgumentError(`duplicate entry ${path}`)
      return existing
    }
    const slash = path.lastIndexOf('/')
    const parentPath = slash === 0 ? '/' : path.slice(0, slash)
    const parent = this.#byPath.get(parentPath) ?? this.#add(parentPath, { path: parentPath, type: 'dir', mode: 0o755 })
    if (parent.type !== 'dir') throw new InvalidArgumentError(`${path}: parent is not a directory`)
    const type = spec.type === 'dir' ? 'dir' : spec.type === 'symlink' ? 'symlink' : 'file'
    const node: TreeNode<Entry> = { name: path.slice(slash + 1), path, type, linkname: type === 'symlink' ? (spec.target ?? '') : '', data: { spec, children: [] } }
    parent.data.children.push(node)
    this.#byPath.set(path, node)
    return node
  }

  list(dir: TreeNode<Entry>): readonly TreeNode<Entry>[] {
    return dir.data.children
  }

  async entryDigest(node: TreeNode<Entry>): Promise<Digest> {
    const { spec } = node.data
    if (spec.headerDigest) return spec.headerDigest
    if (spec.type === 'hardlink' && spec.target) {
      // HandleChange: a hardlink reuses the record of the file it links to.
      const target = this.#byPath.get(joinAbs(spec.target))
      if (target !== undefined && target !== node) return this.entryDigest(target)
    }
    return entryDigest(metaOf(spec), spec.content ?? undefined)
  }
}

/** A reusable tree over an entry list; see {@link checksumEntries}. */
export function createEntriesHasher(entries: readonly EntrySpec[]): { checksum(path: string, opts?: ChecksumOptions): Promise<Digest> } {
  const tree = new Tree(new EntrySource(entries))
  return { checksum: (path, opts) => checksumTree(tree, path, opts) }
}

/** BuildKit's Checksum(path, opts) over an explicit entry list. */
export function checksumEntries(entries: readonly EntrySpec[], path: string, opts: ChecksumOptions = {}): Promise<Digest> {
  return createEntriesHasher(entries).checksum(path, opts)
}

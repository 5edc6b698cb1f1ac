/**
 * BuildKit's `cacheContext.Checksum` (cache/contenthash/checksum.go): the plain entry/directory
 * digest, or — with wildcards, include/exclude patterns — the file-list digest over the included
 * directory headers and entries (`includedPaths`).
 */
import { createHash } from 'node:crypto'
import { type Digest, digestFromHash, EMPTY_DIGEST } from '../core/digest.ts'
import { NotFoundError } from '../core/errors.ts'
import { goPathMatch, type MatchInfo, PatternMatcher } from '../core/patternmatcher.ts'
import { joinAbs, type Tree, type TreeNode } from './tree.ts'

/** BuildKit's ChecksumOpts. */
export interface ChecksumOptions {
  /** Follow a symlink in the last path component (earlier components are always resolved). */
  followLinks?: boolean
  /** Treat `*`, `?`, `[` in the path as Go path.Match wildcards. */
  wildcard?: boolean
  /** patternmatcher patterns, relative to the queried path (or to each wildcard match). */
  includePatterns?: readonly string[]
  excludePatterns?: readonly string[]
  /** Paths that must prefix some included path, else ERR_NOT_FOUND (COPY --parents). */
  requiredPaths?: readonly string[]
}

interface Included<D> {
  path: string
  node: TreeNode<D>
  header: boolean
  followLinks: boolean
  included: boolean
  includeInfo: MatchInfo
  excludeInfo: MatchInfo
}

/** Go keyPath: clean absolute path, the root as "". */
function keyPath(p: string): string {
  const j = joinAbs(p)
  return j === '/' ? '' : j
}

/** Go path.Base. */
function goBase(p: string): string {
  if (p === '') return '.'
  const t = p.replace(/\/+$/, '')
  if (t === '') return '/'
  return t.slice(t.lastIndexOf('/') + 1)
}

function containsWildcards(name: string): boolean {
  for (let i = 0; i < name.length; i++) {
    const c = name[i]
    if (c === '*' || c === '?' || c === '[') return true
    if (c === '\\') i++
  }
  return false
}

/** splitWildcards: the non-wildcard leading components and the rest. */
function splitWildcards(p: string): [string, string] {
  const p1: string[] = []
  const p2: string[] = []
  let found = false
  for (let part of joinAbs(p).split('/')) {
    if (!found && containsWildcards(part)) found = true
    if (part === '') part = '/'
    ;(found ? p2 : p1).push(part)
  }
  const d1 = p1.length === 0 ? '' : joinAbs(...p1)
  return [d1, p2.length === 0 ? '' : p2.join('/').replace(/^\/+/, '')]
}

function shouldInclude<D>(candidate: string, inc: PatternMatcher | undefined, exc: PatternMatcher | undefined, w: Included<D>, parent: Included<D> | undefined): boolean {
  if (inc !== undefined) {
    const r = inc.matchesUsingParentResults(candidate, parent?.includeInfo ?? [])
    w.includeInfo = r.info
    if (!r.matched) return false
  }
  if (exc !== undefined) {
    const r = exc.matchesUsingParentResults(candidate, parent?.excludeInfo ?? [])
    w.excludeInfo = r.info
    if (r.matched) return false
  }
  return true
}

const trimSlash = (s: string) => (s.endsWith('/') ? s.slice(0, -1) : s)

function includedPaths<D>(tree: Tree<D>, rawPath: string, opts: ChecksumOptions): { prefix: string; list: Included<D>[] } {
  const endsInSep = rawPath.endsWith('/')
  const p = keyPath(rawPath)
  const inc = opts.includePatterns?.length ? new PatternMatcher(opts.includePatterns) : undefined
  const exc = opts.excludePatterns?.length ? new PatternMatcher(opts.excludePatterns) : undefined
  const wildcard = opts.wildcard === true
  let origPrefix = p
  let start: TreeNode<D> | undefined = tree.root
  let resolvedPrefix = ''
  if (wildcard) {
    const [d1, d2] = splitWildcards(p)
    origPrefix = d1 === '/' ? '' : d1
    if (origPrefix !== '') {
      const r = tree.resolve(d1, d2 !== '')
      start = r.node
      resolvedPrefix = keyPath(r.path)
    }
  } else if (p !== '') {
    const r = tree.resolve(p, false)
    start = r.node
    resolvedPrefix = keyPath(r.path)
  }
  const list: Included<D>[] = []
  if (start === undefined) return { prefix: origPrefix, list }

  const parents: Included<D>[] = []
  let lastMatchedDir = ''
  const translate = (node: TreeNode<D>) => {
    const fn = keyPath(node.path)
    return fn.startsWith(resolvedPrefix) ? origPrefix + fn.slice(resolvedPrefix.length) : fn
  }
  // Without `[`, a path can only match a pattern with as many `/`: below a non-matching directory
  // at least as deep as the pattern nothing can match, so the walk need not load it.
  const depth = (s: string) => s.split('/').length
  const prune = wildcard && p !== '' && !p.includes('[')
  const descend = (dir: TreeNode<D>) => {
    const fn = translate(dir)
    return (lastMatchedDir !== '' && (fn === lastMatchedDir || fn.startsWith(`${lastMatchedDir}/`))) || depth(fn) < depth(p)
  }
  for (const rec of tree.records(start, prune ? descend : undefined)) {
    // DIR records never get included and leave no state behind; only headers and entries count.
    if (rec.kind === 'dir') continue
    const fn = translate(rec.node)
    while (parents.length > 0 && !fn.startsWith(`${parents[parents.length - 1]?.path}/`)) parents.pop()
    const parent = parents[parents.length - 1]
    const header = rec.kind === 'header'
    if (header && fn === p && endsInSep) continue
    const w: Included<D> = { path: fn, node: rec.node, header, followLinks: parent === undefined && opts.followLinks === true, included: false, includeInfo: [], excludeInfo: [] }
    let candidate: string
    if (wildcard) {
      if (p !== '' && (lastMatchedDir === '' || !fn.startsWith(`${lastMatchedDir}/`))) {
        if (!goPathMatch(p, fn)) continue
        lastMatchedDir = fn
      }
      candidate = trimSlash(`${fn}/`.startsWith(`${lastMatchedDir}/`) ? `${fn}/`.slice(lastMatchedDir.length + 1) : `${fn}/`)
    } else {
      if (!`${fn}/`.startsWith(`${p}/`)) break
      candidate = trimSlash(`${fn}/`.slice(p.length + 1))
    }
    if (shouldInclude(candidate, inc, exc, w, parent)) {
      for (const pd of parents) {
        if (!pd.included) {
          list.push(pd)
          pd.included = true
        }
      }
      list.push(w)
      w.included = true
    }
    if (header) parents.push(w)
  }
  for (const rp of opts.requiredPaths ?? []) {
    if (!list.some((w) => w.path.startsWith(rp))) throw new NotFoundError(`${JSON.stringify(rp)}: not found`, { code: 'ERR_CONTENTHASH_NOT_FOUND' })
  }
  return { prefix: origPrefix, list }
}

/**
 * Checksum(path, opts) over a tree, exactly as BuildKit computes it: the entry digest of a file
 * or symlink, the DIR digest of a directory, or the file-list digest when wildcards or patterns
 * are given (a single hit with the same base name returns its own digest; no hit → sha256("")).
 */
export async function checksumTree<D>(tree: Tree<D>, path: string, opts: ChecksumOptions = {}): Promise<Digest> {
  const follow = opts.followLinks === true
  if (opts.wildcard !== true && !opts.includePatterns?.length && !opts.excludePatterns?.length) {
    return tree.lazyChecksum(keyPath(path), follow)
  }
  const { prefix, list } = includedPaths(tree, path, opts)
  const digests = await Promise.all(
    list.map((w) =>
      w.followLinks && !w.header && w.node.type === 'symlink' ? tree.lazyChecksum(w.path, follow) : tree.entryDigest(w.node),
    ),
  )
  if (list.length === 0) return EMPTY_DIGEST
  if (list.length === 1 && goBase(path) === goBase(list[0]?.path ?? '')) return digests[0] as Digest
  const h = createHash('sha256')
  list.forEach((w, i) => {
    const rel = w.path.startsWith(prefix) ? w.path.slice(prefix.length) : w.path
    h.update(rel === '' ? '\0' : rel.replaceAll('/', '\0'))
    h.update(digests[i] as string)
  })
  return digestFromHash(h)
}

/** The content key of a selector set: sha256 of the checksums joined with `\0` (even for one). */
export function contentKey(checksums: readonly Digest[]): Digest {
  return digestFromHash(createHash('sha256').update(checksums.join('\0')))
}

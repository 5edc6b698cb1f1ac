import { chmod, readdir, rm, writeFile } from 'node:fs/promises'
import { join, posix } from 'node:path'
import { type Digest, sha256 } from '../core/digest.ts'
import { NotFoundError } from '../core/errors.ts'
import type { LayerStore } from '../snapshot/layer-store.ts'
import { mountAt, unmount } from '../snapshot/mount.ts'
import type { CacheDep, CacheMap, Op, OpContext } from '../solver/types.ts'
import type { BuildRef } from './build-ref.ts'
import { resolveInRoot } from './file/confine.ts'
import { copySources } from './file/copy.ts'
import { mkdirsBelow } from './file/mkdirs.ts'
import { goJSON } from './go-json.ts'
import { resolveChown } from './users.ts'
import { mountPoint } from '../snapshot/mount-dirs.ts'

export interface CopyAction {
  kind: 'copy'
  /** Index into the op's inputs of the source. */
  input: number
  /** Absolute, cleaned source path in the source. */
  src: string
  dest: string
  chown?: string
  chmod?: number
  /** Symbolic `--chmod` (BuildKit's modeStr, e.g. `u+x,g-w`); wins over `chmod`. */
  modeStr?: string
  unpack?: boolean
  excludes?: string[]
  /** `COPY --parents`: `src` is the pivot directory and these patterns (relative to it) select what is copied with its path. */
  parents?: string[]
  /** A copy of one generated file (ADD URL, heredoc): no symlink following, wildcards or dir-contents rules. */
  plain?: boolean
}

export interface MkdirAction {
  kind: 'mkdir'
  path: string
  mode: number
  chown?: string
  /** Defaults to true (WORKDIR); false for BuildKit's cache-mount permission dir. */
  makeParents?: boolean
}

/** Writes one file (heredoc bodies). */
export interface MkfileAction {
  kind: 'mkfile'
  path: string
  mode: number
  data: Buffer
}

export type FileAction = CopyAction | MkdirAction | MkfileAction

export interface FileOpSpec {
  /** True when input 0 is the base the actions write onto; false for a scratch base. */
  hasBase: boolean
  actions: FileAction[]
  origin: string
  createdBy: string
}

/** Computes the content checksum of paths in an input (BuildKit's contenthash). */
export type ContentChecksum = (ref: BuildRef, paths: readonly string[], signal: AbortSignal) => Promise<Digest>

export interface FileOpDeps {
  layers: LayerStore
  workDir: string
  checksum: ContentChecksum
}

function ownerJSON(chown: string | undefined): Record<string, unknown> | undefined {
  if (!chown) return undefined
  const [u = '', g] = chown.split(':', 2)
  const one = (s: string) => (/^\d+$/.test(s) ? (Number(s) === 0 ? { User: {} } : { User: { byId: Number(s) } }) : { User: { byName: { name: s } } })
  return { user: one(u), ...(g !== undefined ? { group: one(g) } : {}) }
}

/** BuildKit's file-op cache map (ops/file.go): each action marshalled alone, base64'd, in an envelope. */
export function fileCacheMapJSON(spec: FileOpSpec): string {
  const actions = spec.actions.map((a) => {
    if (a.kind === 'mkdir') {
      const owner = ownerJSON(a.chown)
      return goJSON({ path: a.path, mode: a.mode, ...(a.makeParents !== false ? { makeParents: true } : {}), ...(owner ? { owner } : {}), timestamp: -1 })
    }
    if (a.kind === 'mkfile') return goJSON({ path: a.path, mode: a.mode, ...(a.data.length ? { data: a.data.toString('base64') } : {}), timestamp: -1 })
    const owner = ownerJSON(a.chown)
    const o: Record<string, unknown> = { src: a.src === '/' ? '/' : posix.basename(a.src), dest: a.dest }
    if (owner) o.owner = owner
    o.mode = a.modeStr ? -1 : (a.chmod ?? -1)
    if (!a.plain) {
      o.followSymlink = true
      o.dirCopyContents = true
    }
    if (a.unpack) o.attemptUnpackDockerCompatibility = true
    o.createDestPath = true
    if (!a.plain) {
      o.allowWildcard = true
      o.allowEmptyWildcard = true
    }
    o.timestamp = -1
    if (a.parents?.length) o.include_patterns = a.parents
    if (a.excludes?.length) o.exclude_patterns = a.excludes
    if (a.modeStr) o.modeStr = a.modeStr
    if (a.parents?.length) o.required_paths = a.parents
    return goJSON(o)
  })
  const env: Record<string, unknown> = { Type: 'buildkit.file.v0', Actions: actions.map((j) => Buffer.from(j).toString('base64')) }
  if (!spec.hasBase) {
    // Non-default layout (scratch base): BuildKit writes the indexes out.
    const nIn = Math.max(0, ...spec.actions.map((a) => (a.kind === 'copy' ? a.input + 1 : 0)))
    env.indexes = spec.actions.map((a, i) => [i === 0 ? -1 : nIn + i - 1, a.kind === 'copy' ? a.input : -1, i === spec.actions.length - 1 ? 0 : -1])
  }
  return goJSON(env)
}

/** A COPY (or WORKDIR mkdir): applies file actions onto the base, producing one layer. */
export class FileOp implements Op<BuildRef> {
  readonly spec: FileOpSpec
  readonly inputCount: number
  #deps: FileOpDeps
  constructor(spec: FileOpSpec, inputCount: number, deps: FileOpDeps) {
    this.spec = spec
    this.inputCount = inputCount
    this.#deps = deps
  }

  async cacheMap(): Promise<CacheMap<BuildRef>> {
    const deps: CacheDep<BuildRef>[] = []
    for (let i = 0; i < this.inputCount; i++) {
      if (this.spec.hasBase && i === 0) {
        deps.push({})
        continue
      }
      const copies = this.spec.actions.filter((a): a is CopyAction => a.kind === 'copy' && a.input === i)
      const paths = copies.map((a) => a.src)
      const selector = sha256([...paths].sort().reverse().join('\0'))
      // --parents: what is read is the pivot's matches, not the whole pivot
      const unique = [...new Set(copies.flatMap((a) => (a.parents?.length ? a.parents.map((p) => posix.join(a.src, p)) : [a.src])))].sort()
      deps.push({ selector, contentDigest: (ref, signal) => this.#checksum(ref, unique, signal) })
    }
    const description = fileCacheMapJSON(this.spec)
    return { digest: sha256(description), description, deps }
  }

  async #checksum(ref: BuildRef, paths: readonly string[], signal: AbortSignal): Promise<Digest> {
    try {
      return await this.#deps.checksum(ref, paths, signal)
    } catch (err) {
      if (err instanceof NotFoundError) {
        throw new NotFoundError(`${this.spec.origin}: failed to compute cache key: ${err.message.replace(/^.*?("\/[^"]*")/, '$1')}`, {
          code: 'ERR_COPY_SOURCE_NOT_FOUND',
          hint: 'check that the path exists in the build context (or source stage) and is not excluded by .dockerignore',
          cause: err,
        })
      }
      throw err
    }
  }

  async exec(inputs: readonly BuildRef[], ctx: OpContext): Promise<BuildRef> {
    const { layers, workDir } = this.#deps
    const base = this.spec.hasBase ? inputs[0] : undefined
    const parents = base?.kind === 'layers' ? base.layers : []
    for (const p of parents) await layers.ensureSnapshot(p, ctx.signal)
    const snap = layers.snapshotter
    const { id, mounts } = await snap.prepare(parents)
    const rootfs = mountPoint(workDir, id)
    const mounted: string[] = []
    try {
      await mountAt(mounts[0] as (typeof mounts)[0], rootfs)
      mounted.push(rootfs)
      const srcRoots = new Map<number, { dir: string; ref: BuildRef }>()
      for (const [i, ref] of inputs.entries()) {
        if (this.spec.hasBase && i === 0) continue
        if (ref.kind === 'context') {
          srcRoots.set(i, { dir: ref.dir, ref })
          continue
        }
        for (const p of ref.layers) await layers.ensureSnapshot(p, ctx.signal)
        const view = mountPoint(workDir, `${id}-src${i}`)
        const [m] = await snap.view(ref.layers)
        await mountAt(m as NonNullable<typeof m>, view)
        mounted.push(view)
        srcRoots.set(i, { dir: view, ref })
      }
      for (const a of this.spec.actions) {
        const owner = a.kind !== 'mkfile' && a.chown ? await resolveChown(rootfs, a.chown) : undefined
        if (a.kind === 'mkdir') {
          await mkdirAll(rootfs, a.path, a.mode, owner)
          continue
        }
        if (a.kind === 'mkfile') {
          await mkdirAll(rootfs, posix.dirname(a.path), 0o755)
          const target = await resolveInRoot(rootfs, a.path, false)
          await writeFile(target, a.data)
          await chmod(target, a.mode)
          continue
        }
        const src = srcRoots.get(a.input) as { dir: string; ref: BuildRef }
        const ctxRef = src.ref.kind === 'context' ? src.ref : undefined
        await copySources(src.dir, a.parents?.length ? a.parents.map((p) => posix.join(a.src, p)) : [a.src], rootfs, a.dest, {
          ...(owner ? { owner } : {}),
          ...(a.chmod !== undefined ? { mode: a.chmod } : {}),
          ...(a.modeStr ? { modeStr: a.modeStr } : {}),
          ...(a.excludes?.length ? { excludes: a.excludes } : {}),
          ...(a.parents?.length ? { parentsPivot: a.src } : {}),
          ...(a.unpack ? { unpack: true } : {}),
          ...(a.plain ? { plain: true } : {}),
          rootOwned: ctxRef !== undefined,
          ...(ctxRef ? { skip: (rel: string, isDir: boolean) => ctxRef.isExcluded(rel, isDir) } : {}),
          origin: this.spec.origin,
          signal: ctx.signal,
        })
      }
    } catch (err) {
      for (const m of mounted.reverse()) await unmount(m).catch(() => {})
      mounted.length = 0
      await snap.remove(id)
      throw err
    } finally {
      for (const m of mounted.reverse()) {
        await unmount(m)
        await rm(m, { recursive: true, force: true }).catch(() => {})
      }
    }
    const diff = snap.diffDir(id)
    if ((await readdir(diff)).length === 0) {
      await snap.remove(id)
      return { kind: 'layers', layers: parents }
    }
    await snap.commit(id)
    await layers.put({ id, blobs: [], createdAt: layers.now(), createdBy: this.spec.createdBy })
    return { kind: 'layers', layers: [...parents, id] }
  }
}

const mkdirAll = (root: string, path: string, mode: number, owner?: { uid: number; gid: number }): Promise<void> => mkdirsBelow(root, join(root, path), mode, owner)

import { copyFile, lstat, mkdir, readdir, rm, stat } from 'node:fs/promises'
import { join, relative } from 'node:path'
import { NotFoundError } from '../core/errors.ts'
import { execFile } from '../core/exec-file.ts'
import type { ExecMount } from '../executor/executor.ts'
import type { LayerStore } from '../snapshot/layer-store.ts'
import { mountAt, unmount } from '../snapshot/mount.ts'
import type { BuildRef, ContextRef } from './build-ref.ts'
import type { CacheMountStore } from './cache-mounts/store.ts'
import type { ExecMountSpec } from './exec-mounts.ts'
import { resolveInRoot } from './file/confine.ts'
import { mountPoint } from '../snapshot/mount-dirs.ts'

export interface MountSetupDeps {
  layers: LayerStore
  workDir: string
  cacheMounts?: CacheMountStore
}

/** The runtime mounts of a step and how to undo them. */
export interface PreparedMounts {
  mounts: ExecMount[]
  release(): Promise<void>
}

/** True when some entry under `dir` (relative `rel`) is hidden by .dockerignore. */
async function hasExcluded(ref: ContextRef, dir: string, rel: string): Promise<boolean> {
  const entries = await readdir(dir, { withFileTypes: true }).catch(() => [])
  for (const e of entries) {
    const r = rel ? `${rel}/${e.name}` : e.name
    if (ref.isExcluded(r, e.isDirectory())) return true
    if (e.isDirectory() && (await hasExcluded(ref, join(dir, e.name), r))) return true
  }
  return false
}

/** Copies the context tree under `rel` without its ignored entries (hard links where possible). */
async function filteredCopy(ref: ContextRef, src: string, dst: string, rel: string): Promise<void> {
  await mkdir(dst, { recursive: true })
  for (const e of await readdir(src, { withFileTypes: true })) {
    const r = rel ? `${rel}/${e.name}` : e.name
    if (ref.isExcluded(r, e.isDirectory())) continue
    const s = join(src, e.name)
    const d = join(dst, e.name)
    if (e.isDirectory()) await filteredCopy(ref, s, d, r)
    else if (e.isFile()) await execFile('cp', ['-a', '--reflink=auto', s, d])
    else if (e.isSymbolicLink()) await execFile('cp', ['-a', s, d])
  }
}

/**
 * Mounts what RUN --mount needs on the host and describes it for the runtime: bind sources
 * (the context, a stage, an image; read-only, or writable with the writes going to a scratch
 * overlay that is thrown away), cache directories from the store, tmpfs.
 */
export async function prepareMounts(
  specs: readonly ExecMountSpec[],
  inputs: readonly BuildRef[],
  d: MountSetupDeps,
  id: string,
  origin: string,
  signal: AbortSignal,
): Promise<PreparedMounts> {
  const undo: (() => Promise<void>)[] = []
  const mounts: ExecMount[] = []
  const scratch = mountPoint(d.workDir, `${id}-mounts`)
  undo.push(() => rm(scratch, { recursive: true, force: true }))
  let n = 0
  const tmp = async (what: string) => {
    const p = join(scratch, `${n++}-${what}`)
    await mkdir(p, { recursive: true })
    return p
  }
  const mountTmp = async (m: Parameters<typeof mountAt>[0], what: string) => {
    const p = await tmp(what)
    await mountAt(m, p)
    undo.push(() => unmount(p))
    return p
  }
  /** The host directory that holds an input's root. */
  const rootOf = async (ref: BuildRef): Promise<{ root: string; ctx?: ContextRef }> => {
    if (ref.kind === 'context') return { root: ref.dir, ctx: ref }
    if (ref.layers.length === 0) return { root: await tmp('empty') }
    for (const l of ref.layers) await d.layers.ensureSnapshot(l, signal)
    const [view] = await d.layers.snapshotter.view(ref.layers)
    return { root: await mountTmp(view as NonNullable<typeof view>, 'view') }
  }
  /** The host path of `selector` in an input, confined to it; context sources without their ignored files. */
  const sourceOf = async (ref: BuildRef, selector: string): Promise<string> => {
    const { root, ctx } = await rootOf(ref)
    const src = await resolveInRoot(root, selector)
    const st = await stat(src).catch(() => undefined)
    if (!st) {
      throw new NotFoundError(`${origin}: failed to mount: ${selector || '/'}: not found in the mount source`, {
        code: 'ERR_MOUNT_SOURCE_NOT_FOUND',
        hint: 'check the source= path (relative to the build context, or to the from= stage/image)',
      })
    }
    const rel = relative(root, src).split('\\').join('/')
    if (ctx && st.isDirectory() && (await hasExcluded(ctx, src, rel))) {
      const copy = await tmp('ctx')
      await filteredCopy(ctx, src, copy, rel)
      return copy
    }
    if (ctx && !st.isDirectory() && rel && ctx.isExcluded(rel, false)) {
      throw new NotFoundError(`${origin}: failed to mount: ${selector}: excluded by .dockerignore`, { code: 'ERR_MOUNT_SOURCE_NOT_FOUND' })
    }
    return src
  }

  try {
    for (const m of specs) {
      if (m.kind === 'tmpfs') {
        mounts.push({ destination: m.dest, type: 'tmpfs', source: 'tmpfs', options: ['nosuid', 'nodev', ...(m.size ? [`size=${m.size}`] : [])] })
        continue
      }
      if (m.kind === 'cache') {
        if (!d.cacheMounts) throw new NotFoundError(`${origin}: cache mounts are not available in this build`, { code: 'ERR_CACHE_MOUNTS_UNAVAILABLE' })
        const seed = m.input >= 0 ? await sourceOf(inputs[m.input] as BuildRef, m.selector ?? '/') : undefined
        const lease = await d.cacheMounts.acquire(
          {
            id: m.cacheId ?? m.dest,
            sharing: m.sharing ?? 'shared',
            ...(seed ? { init: (dir: string) => execFile('cp', ['-a', '--reflink=auto', `${seed}/.`, dir]).then(() => {}) } : {}),
          },
          signal,
        )
        undo.push(() => lease.release())
        mounts.push({ destination: m.dest, type: 'bind', source: lease.dir, options: ['rbind', m.readonly ? 'ro' : 'rw'] })
        continue
      }
      const src = await sourceOf(inputs[m.input] as BuildRef, m.selector ?? '/')
      if (m.readonly) {
        mounts.push({ destination: m.dest, type: 'bind', source: src, options: ['rbind', 'ro'] })
        continue
      }
      // writable bind: the writes land in a throw-away layer
      if ((await lstat(src)).isDirectory()) {
        const upper = await tmp('upper')
        const work = await tmp('work')
        const merged = await mountTmp({ type: 'overlay', source: 'overlay', options: [`lowerdir=${src}`, `upperdir=${upper}`, `workdir=${work}`] }, 'rw')
        mounts.push({ destination: m.dest, type: 'bind', source: merged, options: ['rbind', 'rw'] })
      } else {
        const copy = join(await tmp('file'), 'f')
        await copyFile(src, copy)
        mounts.push({ destination: m.dest, type: 'bind', source: copy, options: ['rbind', 'rw'] })
      }
    }
  } catch (err) {
    for (const u of undo.reverse()) await u().catch(() => {})
    throw err
  }
  return {
    mounts,
    async release() {
      for (const u of undo.reverse()) await u().catch(() => {})
    },
  }
}

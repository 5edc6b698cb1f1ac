import { constants } from 'node:fs'
import { chmod, copyFile, lchown, lstat, lutimes, mkdir, readdir, readlink, rm, stat, symlink } from 'node:fs/promises'
import { dirname, join, posix } from 'node:path'
import { NotFoundError } from '../../core/errors.ts'
import { expandGlob, hasWildcard } from './glob.ts'

export interface CopyOptions {
  /** uid/gid for every copied entry (and created dest dirs); undefined keeps the source's (or 0:0 for a context). */
  owner?: { uid: number; gid: number }
  /** Forced mode bits for copied entries (`--chmod`). */
  mode?: number
  /** Reset owners to root (build-context sources, as BuildKit's client does). */
  rootOwned: boolean
  skip?: (rel: string, isDir: boolean) => boolean
  /** Where the instruction comes from, for messages. */
  origin: string
}

/**
 * Copies `sources` (relative to srcRoot, wildcards allowed) to `dest` (absolute in destRoot),
 * with Docker's COPY rules: a directory source copies its contents; a dest ending in `/` (or
 * several sources) is a directory; missing parents are created.
 */
export async function copySources(srcRoot: string, sources: readonly string[], destRoot: string, dest: string, o: CopyOptions): Promise<void> {
  const skip = o.skip ?? (() => false)
  const matches: string[] = []
  for (const s of sources) {
    const clean = posix.normalize(`/${s}`).slice(1)
    if (hasWildcard(clean)) {
      matches.push(...(await expandGlob(srcRoot, clean, skip)))
      continue
    }
    const exists = clean === '' || (!skip(clean, false) && (await lstat(join(srcRoot, clean)).then(() => true, () => false)))
    if (!exists) {
      throw new NotFoundError(`${o.origin}: "/${clean}": not found`, {
        code: 'ERR_COPY_SOURCE_NOT_FOUND',
        hint: 'check that the path exists in the build context (or source stage) and is not excluded by .dockerignore',
      })
    }
    matches.push(clean)
  }
  const destIsDir = dest.endsWith('/') || sources.length > 1 || sources.some(hasWildcard)
  const destAbs = join(destRoot, posix.normalize(dest))
  for (const rel of matches) {
    const src = join(srcRoot, rel)
    const st = await stat(src) // a symlink named as the source itself is followed
    if (st.isDirectory()) {
      await ensureDir(destRoot, destAbs, o)
      await copyTree(srcRoot, rel, destAbs, o, skip)
      continue
    }
    let target = destAbs
    const existing = await stat(destAbs).catch(() => undefined)
    if (destIsDir || existing?.isDirectory()) {
      await ensureDir(destRoot, destAbs, o)
      target = join(destAbs, posix.basename(rel))
    } else {
      await ensureDir(destRoot, dirname(destAbs), o)
    }
    await copyEntry(src, target, o, true)
  }
}

async function ensureDir(destRoot: string, dir: string, o: CopyOptions): Promise<void> {
  const missing: string[] = []
  let cur = dir
  while (cur.length > destRoot.length && !(await lstat(cur).then(() => true, () => false))) {
    missing.push(cur)
    cur = dirname(cur)
  }
  for (const d of missing.reverse()) {
    await mkdir(d)
    await chmod(d, 0o755)
    if (o.owner) await lchown(d, o.owner.uid, o.owner.gid)
  }
}

async function copyTree(srcRoot: string, rel: string, destDir: string, o: CopyOptions, skip: (rel: string, isDir: boolean) => boolean): Promise<void> {
  const names = (await readdir(join(srcRoot, rel))).sort()
  for (const name of names) {
    const childRel = rel ? `${rel}/${name}` : name
    const src = join(srcRoot, childRel)
    const st = await lstat(src)
    if (skip(childRel, st.isDirectory())) continue
    const target = join(destDir, name)
    await copyEntry(src, target, o, false)
    if (st.isDirectory()) {
      await copyTree(srcRoot, childRel, target, o, skip)
      await lutimes(target, st.atime, st.mtime)
    }
  }
}

/** Copies one entry (a directory as an empty dir; its contents are the caller's), applying owner, mode and times. */
async function copyEntry(src: string, target: string, o: CopyOptions, follow: boolean): Promise<void> {
  const st = follow ? await stat(src) : await lstat(src)
  const existing = await lstat(target).catch(() => undefined)
  if (existing && !(st.isDirectory() && existing.isDirectory())) await rm(target, { recursive: true, force: true })
  if (st.isSymbolicLink()) await symlink(await readlink(src), target)
  else if (st.isDirectory()) {
    if (!existing?.isDirectory()) await mkdir(target)
  } else if (st.isFile()) await copyFile(src, target, constants.COPYFILE_FICLONE)
  else return // sockets, devices and fifos are not copied
  const uid = o.owner?.uid ?? (o.rootOwned ? 0 : st.uid)
  const gid = o.owner?.gid ?? (o.rootOwned ? 0 : st.gid)
  await lchown(target, uid, gid)
  // chown clears setuid/setgid bits, so the mode is set after it
  if (!st.isSymbolicLink()) await chmod(target, o.mode ?? st.mode & 0o7777)
  await lutimes(target, st.atime, st.mtime)
}

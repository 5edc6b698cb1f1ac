import { randomBytes } from 'node:crypto'
import { access, mkdir, rename, rm, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import type { Mount, Snapshotter } from './snapshotter.ts'

/**
 * Overlayfs snapshots under `<root>/<id>/`: `fs/` is the diff (the upper dir while active),
 * `work/` overlay's work dir, `committed` a marker written last. Parents are given
 * bottom-to-top. Overlay lowerdir options use paths relative to `root` (Mount.cwd) so a chain of
 * a hundred layers still fits the mount option page.
 */
export function createOverlaySnapshotter(root: string): Snapshotter {
  const emptyDir = join(root, 'empty')
  const ready = Promise.all([mkdir(emptyDir, { recursive: true }), mkdir(join(root, 'tmp'), { recursive: true })])
  const lowerOpt = (parents: readonly string[]): string => {
    const dirs = [...parents].reverse().map((p) => `${p}/fs`)
    if (dirs.length === 0) dirs.push('empty')
    return `lowerdir=${dirs.join(':')}`
  }
  const self: Snapshotter = {
    diffDir: (id) => join(root, id, 'fs'),
    async prepare(parents) {
      await ready
      const id = `a${Date.now().toString(36)}${randomBytes(5).toString('hex')}`
      await mkdir(join(root, id, 'fs'), { recursive: true })
      await mkdir(join(root, id, 'work'), { recursive: true })
      const mounts: Mount[] = [
        {
          type: 'overlay',
          source: 'overlay',
          cwd: root,
          options: [lowerOpt(parents), `upperdir=${id}/fs`, `workdir=${id}/work`, 'index=off', 'redirect_dir=off', 'metacopy=off'],
        },
      ]
      return { id, mounts }
    },
    async view(parents) {
      await ready
      if (parents.length === 1) return [{ type: 'bind', source: join(root, parents[0] as string, 'fs'), options: ['rbind', 'ro'] }]
      const dirs = [...parents].reverse().map((p) => `${p}/fs`)
      if (dirs.length === 0) dirs.push('empty')
      if (dirs.length === 1) dirs.push('empty')
      return [{ type: 'overlay', source: 'overlay', cwd: root, options: [`lowerdir=${dirs.join(':')}`, 'index=off', 'redirect_dir=off'] }]
    },
    async commit(id) {
      await rm(join(root, id, 'work'), { recursive: true, force: true })
      await writeFile(join(root, id, 'committed'), '')
    },
    async remove(id) {
      // Rename first so a half-deleted snapshot is never mistaken for a live one.
      const trash = join(root, 'tmp', `${id}-${randomBytes(4).toString('hex')}`)
      await rename(join(root, id), trash).catch(() => {})
      await rm(trash, { recursive: true, force: true })
    },
    async exists(id) {
      return access(join(root, id, 'committed')).then(
        () => true,
        () => false,
      )
    },
    async create(id) {
      await ready
      await rm(join(root, id), { recursive: true, force: true })
      await mkdir(join(root, id, 'fs'), { recursive: true })
    },
  }
  return self
}

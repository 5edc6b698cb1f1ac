import { spawn } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { readFileSync, utimesSync, writeFileSync } from 'node:fs'
import { mkdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { spawnHelper } from '../core/spawn-helper.ts'
import type { Mount, Snapshotter } from './snapshotter.ts'

/** This boot of the kernel: data written in it is in the page cache, whatever writeback has done. */
const BOOT_ID = (() => {
  try {
    return readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim()
  } catch {
    return 'unknown-boot'
  }
})()

/**
 * Overlayfs snapshots under `<root>/<id>/`: `fs/` is the diff (the upper dir while active),
 * `work/` overlay's work dir, `committed` a marker written last. Parents are given
 * bottom-to-top. Overlay lowerdir options use paths relative to `root` (Mount.cwd) so a chain of
 * a hundred layers still fits the mount option page.
 *
 * Durability. Active snapshots are mounted `volatile`: unmounting a plain overlay syncs the whole
 * upper filesystem (0.26 s after W1's RUN of 50 MB and 5,000 files, a quarter of the step), which a
 * build does not need. Instead the `committed` marker names the boot and time of the commit, and
 * after a build `flush()` starts a detached `sync -f` that, once done, sets the mtime of
 * `<root>/synced-<boot>` to the time it started. A snapshot is trusted if it was committed in this
 * boot (the page cache holds it) or before a completed sync of its boot; one from a boot that ended
 * (crashed) before its data was synced counts as missing: re-extracted from a blob, or its step reruns.
 */
export function createOverlaySnapshotter(root: string): Snapshotter {
  let committedHere = false
  /** When the last completed sync of a boot started (ms), from the mtime of `synced-<boot>`. */
  const syncedUpTo = (boot: string): Promise<number> =>
    stat(join(root, `synced-${boot}`)).then(
      (st) => st.mtimeMs,
      () => -1,
    )
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
          options: [lowerOpt(parents), `upperdir=${id}/fs`, `workdir=${id}/work`, 'index=off', 'redirect_dir=off', 'metacopy=off', 'volatile'],
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
      await writeFile(join(root, id, 'committed'), `${BOOT_ID} ${Date.now()}\n`)
      committedHere = true
    },
    async remove(id) {
      // Rename first so a half-deleted snapshot is never mistaken for a live one.
      const trash = join(root, 'tmp', `${id}-${randomBytes(4).toString('hex')}`)
      await rename(join(root, id), trash).catch(() => {})
      await rm(trash, { recursive: true, force: true })
    },
    async exists(id) {
      const marker = await readFile(join(root, id, 'committed'), 'utf8').catch(() => undefined)
      if (marker === undefined) return false
      const [boot, at] = marker.trim().split(' ')
      // an empty marker predates volatile mounts: its unmount synced it
      if (!boot || boot === BOOT_ID) return true
      return (await syncedUpTo(boot)) >= Number(at)
    },
    flush() {
      if (!committedHere) return
      committedHere = false
      const started = Date.now()
      const stamp = join(root, `synced-${BOOT_ID}`)
      try {
        writeFileSync(stamp, '', { flag: 'wx' })
        utimesSync(stamp, 0, 0) // nothing of this boot is known synced yet
      } catch {
        // it exists: an earlier sync of this boot
      }
      // touch -c never creates the stamp: a root being deleted meanwhile stays deletable
      const script = 'sync -f "$1" && touch -c -d "@$2" "$1/synced-$3" && sync "$1/synced-$3"'
      const args = ['-c', script, 'sh', root, (started / 1000).toFixed(3), BOOT_ID]
      // through the spawn helper when there is one: this runs as the build ends, when node is at its biggest
      const helper = spawnHelper()
      if (helper?.accepts('sh', args)) return helper.detach('sh', args)
      const child = spawn('sh', args, { detached: true, stdio: 'ignore' })
      child.on('error', () => {})
      child.unref()
    },
    async create(id) {
      await ready
      await rm(join(root, id), { recursive: true, force: true })
      await mkdir(join(root, id, 'fs'), { recursive: true })
    },
  }
  return self
}

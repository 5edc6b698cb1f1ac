import { readFile, readdir, rm } from 'node:fs/promises'
import { join } from 'node:path'
import { unmount } from './mount.ts'

/**
 * Mount points live under `<workDir>/mnt/<pid>/`, one directory per cairn process, so a process
 * killed mid-step (SIGKILL, OOM) leaves its mounts where the next process can recognise and
 * remove them without touching those of other live processes sharing the same --root.
 */
export function mountPoint(workDir: string, name: string): string {
  return join(workDir, 'mnt', String(process.pid), name)
}

const alive = (pid: number): boolean => {
  try {
    process.kill(pid, 0)
    return true
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM'
  }
}

/** Unmounts and removes what dead cairn processes left under `<workDir>/mnt/`. Best effort. */
export async function reapStaleMounts(workDir: string): Promise<void> {
  const base = join(workDir, 'mnt')
  const dirs = await readdir(base).catch(() => [] as string[])
  const dead = dirs.filter((d) => /^\d+$/.test(d) && Number(d) !== process.pid && !alive(Number(d)))
  if (dead.length === 0) return
  const mounts = (await readFile('/proc/self/mounts', 'utf8').catch(() => ''))
    .split('\n')
    .map((l) => (l.split(' ')[1] ?? '').replace(/\\040/g, ' '))
  for (const d of dead) {
    const prefix = `${join(base, d)}/`
    // deepest first, so nested mounts come off before their parents
    for (const m of mounts.filter((p) => p.startsWith(prefix)).sort((a, b) => b.length - a.length)) await unmount(m).catch(() => {})
    await rm(join(base, d), { recursive: true, force: true }).catch(() => {})
  }
}

import { mkdir } from 'node:fs/promises'
import { execFile } from '../core/exec-file.ts'
import type { Mount } from './snapshotter.ts'

/** Mounts a description at `target` (root only). */
export async function mountAt(m: Mount, target: string): Promise<void> {
  await mkdir(target, { recursive: true })
  if (m.type === 'bind') {
    await execFile('mount', ['--bind', m.source, target])
    if (m.options.includes('ro')) await execFile('mount', ['-o', 'remount,bind,ro', target])
    return
  }
  await execFile('mount', ['-t', m.type, m.source, '-o', m.options.join(','), target], m.cwd ? { cwd: m.cwd } : {})
}

export async function unmount(target: string): Promise<void> {
  await execFile('umount', [target]).catch(async () => {
    await execFile('umount', ['-l', target])
  })
}

/** Mounts `m` at `target`, runs `fn`, and always unmounts. */
export async function withMount<T>(m: Mount, target: string, fn: (dir: string) => Promise<T>): Promise<T> {
  await mountAt(m, target)
  try {
    return await fn(target)
  } finally {
    await unmount(target)
  }
}

import { chmod, lchown, lstat, mkdir } from 'node:fs/promises'
import { dirname } from 'node:path'

/**
 * Creates `dir` and its missing parents below `root` (never `root` itself or above), each with
 * `mode` and, when given, `owner` (chown before chmod: chown clears setuid/setgid bits).
 */
export async function mkdirsBelow(root: string, dir: string, mode: number, owner?: { uid: number; gid: number }): Promise<void> {
  const missing: string[] = []
  let cur = dir
  while (cur.length > root.length && !(await lstat(cur).then(() => true, () => false))) {
    missing.push(cur)
    cur = dirname(cur)
  }
  for (const d of missing.reverse()) {
    await mkdir(d)
    if (owner) await lchown(d, owner.uid, owner.gid)
    await chmod(d, mode)
  }
}

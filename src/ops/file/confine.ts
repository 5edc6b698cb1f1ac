import { lstat, readlink } from 'node:fs/promises'
import { join, posix } from 'node:path'

/**
 * Resolves `path` (absolute or relative, `/`-separated) inside `root` the way a chroot would:
 * symlinks are followed with `root` as `/`, and `..` never climbs above it. Returns the host path
 * (which may not exist). `followLast` false keeps a symlink in the last component as it is.
 */
export async function resolveInRoot(root: string, path: string, followLast = true): Promise<string> {
  const todo = posix.normalize(`/${path}`).split('/').filter(Boolean)
  const done: string[] = []
  let hops = 0
  while (todo.length > 0) {
    const part = todo.shift() as string
    if (part === '.') continue
    if (part === '..') {
      done.pop()
      continue
    }
    const cur = join(root, ...done, part)
    const st = await lstat(cur).catch(() => undefined)
    if (st?.isSymbolicLink() && (followLast || todo.length > 0)) {
      if (++hops > 255) break
      const target = await readlink(cur)
      if (target.startsWith('/')) done.length = 0
      todo.unshift(...target.split('/').filter(Boolean))
      continue
    }
    done.push(part)
  }
  return join(root, ...done)
}

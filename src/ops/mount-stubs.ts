import { lstat, readdir, rmdir, unlink } from 'node:fs/promises'
import { dirname, join } from 'node:path'

/**
 * Mount points the runtime creates in a rootfs (and that must not end up in the layer): records
 * which of the paths (and their parents) did not exist before a run, and removes them after.
 * BuildKit's `removeMountStubsRecursive`.
 */
export async function recordMissing(rootfs: string, paths: readonly string[]): Promise<string[]> {
  const missing = new Set<string>()
  for (const p of paths) {
    let cur = p
    while (cur !== '/' && cur !== '.') {
      const exists = await lstat(join(rootfs, cur)).then(() => true, () => false)
      if (exists) break
      missing.add(cur)
      cur = dirname(cur)
    }
  }
  return [...missing].sort((a, b) => b.length - a.length)
}

/** Removes recorded stubs, deepest first, if they are still empty. */
export async function removeStubs(rootfs: string, stubs: readonly string[]): Promise<void> {
  for (const p of stubs) {
    const full = join(rootfs, p)
    const st = await lstat(full).catch(() => undefined)
    if (!st) continue
    if (st.isDirectory()) {
      if ((await readdir(full)).length === 0) await rmdir(full).catch(() => {})
    } else if (st.isFile() && st.size === 0) {
      await unlink(full).catch(() => {})
    }
  }
}

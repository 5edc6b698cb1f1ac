import { mkdir, rm } from 'node:fs/promises'
import { join } from 'node:path'
import type { State } from '../build/state.ts'
import { execFile } from '../core/exec-file.ts'
import { mountAt, unmount } from '../snapshot/mount.ts'
import { mountPoint } from '../snapshot/mount-dirs.ts'

/** `-o type=local,dest=DIR`: the image's filesystem, flattened into DIR. */
export async function exportRootfs(state: State, layerIds: readonly string[], dest: string, signal: AbortSignal): Promise<void> {
  await mkdir(dest, { recursive: true })
  if (layerIds.length === 0) return
  for (const id of layerIds) await state.layers.ensureSnapshot(id, signal)
  const [m] = await state.layers.snapshotter.view(layerIds)
  const view = mountPoint(state.workDir, `export-${Date.now()}`)
  await mountAt(m as NonNullable<typeof m>, view)
  try {
    await execFile('cp', ['-a', `${view}/.`, dest], { signal })
  } finally {
    await unmount(view)
    await rm(view, { recursive: true, force: true })
  }
}

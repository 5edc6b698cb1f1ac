/** A filesystem mount description; mounting is the caller's job (containerd semantics). */
export interface Mount {
  type: 'overlay' | 'bind'
  source: string
  options: string[]
  /** Directory relative to which relative paths in `options` resolve (keeps overlay option strings short). */
  cwd?: string
}

/**
 * Snapshots are directories under the snapshotter's root. A committed snapshot holds one layer's
 * diff in overlayfs form (whiteouts as 0:0 char devices, opaque dirs by xattr). An active snapshot
 * is a writable upper dir over a chain of committed ones.
 *
 * Lifecycle: `prepare(parents)` creates an active snapshot and returns the mounts of its writable
 * view; the caller mounts them, writes, unmounts, then calls `commit` (it becomes a layer whose
 * diff is `diffDir(id)`) or `remove`. `view(parents)` describes a read-only view of a chain.
 */
export interface Snapshotter {
  prepare(parents: readonly string[]): Promise<{ id: string; mounts: Mount[] }>
  view(parents: readonly string[]): Promise<Mount[]>
  commit(id: string): Promise<void>
  remove(id: string): Promise<void>
  /** True when the snapshot exists and is committed. */
  exists(id: string): Promise<boolean>
  /** The directory that holds a snapshot's diff (also where a layer is extracted to). */
  diffDir(id: string): string
  /** Creates an empty snapshot to be filled by extracting a layer into `diffDir(id)`; commit after. */
  create(id: string): Promise<void>
  /** Makes what was committed durable, in the background (the process may exit before it is done). */
  flush?(): void
}

import { posix } from 'node:path'

/**
 * An extra mount of a RUN step (besides its rootfs, which is always input 0 at `/`). The shapes
 * follow BuildKit's `pb.Mount` as the Dockerfile frontend fills it (convert_runmount.go).
 */
export interface ExecMountSpec {
  kind: 'bind' | 'cache' | 'tmpfs'
  /** Absolute, cleaned destination in the container. */
  dest: string
  /** Index into the op's inputs of the mount's source, or -1 (no source: a fresh cache, a tmpfs). */
  input: number
  /** Path inside the source that is mounted (BuildKit's selector); '' or '/' for the whole source. */
  selector?: string
  readonly: boolean
  /** Cache mounts: the cache id as BuildKit forms it (`<ns>/<id or target>`). */
  cacheId?: string
  sharing?: 'shared' | 'private' | 'locked'
  /** Tmpfs mounts: size limit in bytes (0 = the kernel's default). */
  size?: number
}

const MOUNT_TYPE = { bind: 0, cache: 3, tmpfs: 4 } as const
const SHARING = { shared: 0, private: 1, locked: 2 } as const

/**
 * BuildKit keeps a cache mount's ID and sharing in the exec key only in the Dockerfile default
 * case: sharing=shared and an ID that is the destination, or `<namespace>/<destination>`
 * (ops/exec.go checkShouldClearCacheOpts). Anything else keys as an empty cacheOpt.
 */
function cacheOptJSON(m: ExecMountSpec): Record<string, unknown> {
  const id = m.cacheId ?? ''
  const sharing = m.sharing ?? 'shared'
  const isDefault = sharing === 'shared' && (id === m.dest || id.endsWith(`/${m.dest}`) || id === `/${m.dest}`)
  if (!isDefault) return {}
  const o: Record<string, unknown> = {}
  if (id) o.ID = id
  if (SHARING[sharing]) o.sharing = SHARING[sharing]
  return o
}

/** One mount as it appears in the exec cache map (selector cleared, protobuf-go omitempty). */
export function mountJSON(m: ExecMountSpec): Record<string, unknown> {
  const o: Record<string, unknown> = {}
  if (m.input !== 0) o.input = m.input
  o.dest = m.dest
  // every extra mount a Dockerfile makes has no output: read-only, cache, tmpfs, or rw with ForceNoOutput
  o.output = -1
  if (m.readonly) o.readonly = true
  if (MOUNT_TYPE[m.kind]) o.mountType = MOUNT_TYPE[m.kind]
  if (m.kind === 'tmpfs') o.TmpfsOpt = m.size ? { size: m.size } : {}
  if (m.kind === 'cache') o.cacheOpt = cacheOptJSON(m)
  return o
}

/** Extra mounts sorted by destination, as BuildKit's llb client orders them. */
export function sortMounts<T extends { dest: string }>(mounts: readonly T[]): T[] {
  return [...mounts].sort((a, b) => (a.dest < b.dest ? -1 : a.dest > b.dest ? 1 : 0))
}

/** The `mounts` list of the exec cache map, or undefined when the rootfs is the only mount (BuildKit drops it then). */
export function mountsJSON(extra: readonly ExecMountSpec[]): Record<string, unknown>[] | undefined {
  if (extra.length === 0) return undefined
  const root: ExecMountSpec = { kind: 'bind', dest: '/', input: 0, readonly: false }
  return sortMounts([root, ...extra]).map((m) => (m === root ? { dest: '/' } : mountJSON(m)))
}

/** What each input of an exec contributes to its key (ops/exec.go getMountDeps). */
export interface MountDep {
  /** Selector paths in sorted-mount order (duplicates kept); joined with NUL and hashed. */
  selectors: string[]
  /** True when the input is keyed by content (read-only or no-output mounts only). */
  contentHash: boolean
  /** Deduplicated paths to checksum when `contentHash`. */
  contentPaths: string[]
}

/**
 * Per input (0 = rootfs): selectors and whether its content is hashed. As in BuildKit, a mount is
 * safe to key by content when it has no output, is read-only, or mounts the whole source; never
 * for the rootfs; the last mount of an input decides.
 */
export function mountDeps(extra: readonly ExecMountSpec[], inputCount: number): MountDep[] {
  const deps = Array.from({ length: inputCount }, () => ({ selectors: [] as string[], content: false }))
  const root: ExecMountSpec = { kind: 'bind', dest: '/', input: 0, readonly: false }
  for (const m of sortMounts([root, ...extra])) {
    if (m.input < 0 || m.kind === 'tmpfs') continue
    const d = deps[m.input]
    if (!d) continue
    const sel = posix.join('/', m.selector ?? '')
    d.selectors.push(sel)
    const output = m === root ? 0 : -1
    d.content = (output === -1 || m.readonly || sel === '/') && m.dest !== '/'
  }
  return deps.map((d) => ({ selectors: d.selectors, contentHash: d.content, contentPaths: dedupePaths(d.selectors) }))
}

/** Sorted paths with every path under another one removed (ops/exec.go dedupePaths). */
export function dedupePaths(paths: readonly string[]): string[] {
  const sorted = [...new Set(paths)].sort()
  const out: string[] = []
  for (const p of sorted) {
    const parent = out.find((q) => q === '/' || p === q || p.startsWith(`${q}/`))
    if (!parent) out.push(p)
  }
  return out
}

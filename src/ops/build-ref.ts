import type { Digest } from '../core/digest.ts'

/** A result made of image layers (bottom to top), identified by layer-store ids. */
export interface LayersRef {
  kind: 'layers'
  layers: readonly string[]
}

/** A directory on the host: the build context (or a named context). */
export interface ContextRef {
  kind: 'context'
  dir: string
  /** True when a path (relative, `/`-separated) is excluded by .dockerignore. */
  isExcluded(rel: string, isDir?: boolean): boolean
  /** Content checksum of a path in the context (BuildKit's contenthash, context mode). */
  checksum(path: string, opts: { wildcard: boolean; followLinks: boolean }): Promise<Digest>
}

export type BuildRef = LayersRef | ContextRef

export const SCRATCH: LayersRef = { kind: 'layers', layers: [] }

export function layersOf(ref: BuildRef, what: string): readonly string[] {
  if (ref.kind !== 'layers') throw new TypeError(`${what}: expected an image-layer result`)
  return ref.layers
}

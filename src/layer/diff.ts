/**
 * Diff → layer: packs an overlayfs upper dir (or, in `plain` mode, any directory such as a
 * COPY result or a rootfs) into a deterministic OCI layer tar. Same input tree → the same
 * bytes: sorted walk, one fixed mtime, no atime/ctime, empty uname/gname.
 */
import { Readable, type Writable } from 'node:stream'
import { pipeline } from 'node:stream/promises'
import { tarBlocks } from './tar-blocks.ts'
import { type WalkOptions, walkLayerEntries } from './walk.ts'

const CHUNK = 256 * 1024

export type LayerTarOptions = WalkOptions

/** The layer tar of `dir` as a Readable (pull-driven; nothing is buffered whole). */
export function layerTarStream(dir: string, opts: LayerTarOptions = {}): Readable {
  const o = { blockSize: CHUNK, alloc: () => Buffer.allocUnsafe(CHUNK), ...(opts.signal === undefined ? {} : { signal: opts.signal }) }
  return Readable.from(tarBlocks(walkLayerEntries(dir, opts), o), { objectMode: false, highWaterMark: CHUNK })
}

/** Writes the layer tar of an overlayfs upper dir (default mode `overlay`) into `out`. */
export async function writeLayerTar(upperDir: string, out: Writable, opts: LayerTarOptions = {}): Promise<void> {
  const o = opts.signal === undefined ? {} : { signal: opts.signal }
  await pipeline(layerTarStream(upperDir, opts), out, o)
}

/** Same as writeLayerTar for a plain directory: no whiteout/opaque interpretation. */
export async function writeDirTar(dir: string, out: Writable, opts: Omit<LayerTarOptions, 'mode'> = {}): Promise<void> {
  await writeLayerTar(dir, out, { ...opts, mode: 'plain' })
}

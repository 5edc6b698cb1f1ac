/**
 * The layer tar writer in C (native/tarwalk.c, built into dist/bundle/cairn-tarwalk.node by
 * `npm run build` where a C compiler and node's headers are present): the same walk and the same
 * bytes as walkLayerEntries + tarBlocks, without their per-entry JavaScript. packLayer uses it when
 * it is built and the pack needs nothing it lacks (an exclude filter, an mtime outside the ustar
 * field); otherwise the TypeScript writer does the job.
 *
 * Measured on W1's layers (bench/README.md): the packing thread's JavaScript, and V8's compiling of
 * it, were most of what a mode=max export adds to a build's CPU.
 */
import { existsSync } from 'node:fs'
import { createRequire } from 'node:module'
import { fileURLToPath } from 'node:url'
import { FailedPreconditionError } from '../core/errors.ts'
import type { TarBlockOptions } from './tar-blocks.ts'
import { fits } from './tar-header.ts'
import { OVERLAY_FEATURE_HINT } from './walk.ts'

interface TarWalkAddon {
  open(root: string, overlay: boolean, mtime: number): object
  fill(handle: object, buffer: Buffer, offset: number): number
  close(handle: object): void
}

/** The addon's file name, next to the bundle (dist/bundle/). */
export const NATIVE_TAR_FILE = 'cairn-tarwalk.node'

let addon: TarWalkAddon | null | undefined

/** The native writer, or undefined when it is not built. */
export function nativeTar(): TarWalkAddon | undefined {
  if (addon === undefined) {
    addon = null
    // next to the bundle; from source (tests), the built one
    for (const rel of [`./${NATIVE_TAR_FILE}`, `../../dist/bundle/${NATIVE_TAR_FILE}`]) {
      const path = fileURLToPath(new URL(rel, import.meta.url))
      if (!existsSync(path)) continue
      try {
        addon = createRequire(import.meta.url)(path) as TarWalkAddon
      } catch {
        addon = null // built for another node, or damaged: the TypeScript writer it is
      }
      break
    }
  }
  return addon ?? undefined
}

/** Whether the native writer can pack with these options (an mtime past the ustar field needs a PAX record, which only the TypeScript writer makes). */
export function nativeTarFits(o: { mtime: number; exclude?: unknown }): boolean {
  return o.exclude === undefined && fits(o.mtime, 12)
}

/** The addon's errors as the TypeScript writer throws them. */
function mapError(err: unknown): unknown {
  const e = err as Error & { code?: string }
  if (e?.code === 'ERR_LAYER_SIZE_CHANGED') return new FailedPreconditionError(e.message, { code: e.code })
  if (e?.code === 'ERR_LAYER_OVERLAY_FEATURE') {
    return new FailedPreconditionError(e.message, { code: e.code, hint: OVERLAY_FEATURE_HINT })
  }
  return err
}

/**
 * tarBlocks(walkLayerEntries(root, { mode, mtime }), o) by the native writer: the same blocks (every
 * one `o.blockSize` long but the last), the same bytes.
 */
export function* nativeTarBlocks(n: TarWalkAddon, root: string, overlay: boolean, mtime: number, o: TarBlockOptions): Generator<Buffer> {
  o.signal?.throwIfAborted()
  let handle: object
  try {
    handle = n.open(root, overlay, mtime)
  } catch (err) {
    throw mapError(err)
  }
  try {
    for (;;) {
      const got = o.alloc()
      const block = got.length === o.blockSize ? got : got.subarray(0, o.blockSize)
      let pos: number
      try {
        pos = n.fill(handle, block, 0)
      } catch (err) {
        throw mapError(err)
      }
      if (pos === o.blockSize) {
        yield block
        o.signal?.throwIfAborted()
        continue
      }
      if (pos > 0) yield block.subarray(0, pos)
      return
    }
  } finally {
    n.close(handle)
  }
}

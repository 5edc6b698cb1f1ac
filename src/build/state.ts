import { join } from 'node:path'
import { createLocalBlobStore } from '../content/local-store.ts'
import type { BlobStore } from '../content/blob-store.ts'
import { ImageStore } from '../export/image-store.ts'
import { createOverlaySnapshotter } from '../snapshot/overlay-snapshotter.ts'
import { LayerStore } from '../snapshot/layer-store.ts'
import type { LayerScannerFactory } from '../secrets/leak-guard.ts'
import type { PackThread } from '../layer/pack-thread.ts'

/** Everything cairn keeps under `--root`. */
export interface State {
  root: string
  blobs: BlobStore
  layers: LayerStore
  images: ImageStore
  cacheDir: string
  workDir: string
}

/**
 * Layout of the state directory:
 *   content/blobs/sha256/…   blobs (layers, configs, manifests)
 *   snapshots/<id>/fs        layer diffs on disk (overlay lowerdirs)
 *   layers/<id>.json         what is known of each layer
 *   cache/<key>.json         the local cache index: step key → layer chain
 *   images/index.json        cairn's image store
 *   work/                    mount points, runc bundles and state
 */
export function openState(root: string, epoch?: number, o: { scanner?: LayerScannerFactory; packThread?: PackThread } = {}): State {
  const blobs = createLocalBlobStore(join(root, 'content'))
  const snapshotter = createOverlaySnapshotter(join(root, 'snapshots'))
  const layers = new LayerStore({
    root: join(root, 'layers'),
    blobs,
    snapshotter,
    tarMtime: epoch ?? 0,
    ...(epoch !== undefined ? { epoch } : {}),
    // the secret leak guard: scans every layer this build packs or transcodes
    ...(o.scanner ? { scanner: o.scanner } : {}),
    ...(o.packThread ? { packThread: o.packThread } : {}),
  })
  return { root, blobs, layers, images: new ImageStore(join(root, 'images'), blobs), cacheDir: join(root, 'cache'), workDir: join(root, 'work') }
}

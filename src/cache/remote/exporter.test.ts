import assert from 'node:assert/strict'
import { existsSync } from 'node:fs'
import { mkdir, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Readable } from 'node:stream'
import { after, before, describe, it } from 'node:test'
import type { Descriptor } from '../../core/descriptor.ts'
import { type Digest, hexOf, sha256 } from '../../core/digest.ts'
import type { LayerStore } from '../../snapshot/layer-store.ts'
import { createLocalTransport } from '../backends/local/index.ts'
import type { ExportStep } from './build-graph.ts'
import { exportCache } from './exporter.ts'

const d = (s: string) => sha256(s) as Digest

// FROM (base layer b) → RUN (adds r) → RUN (adds s)
const steps: ExportStep[] = [
  { id: 'from', record: { digest: d('from'), deps: [] }, inputs: [], layers: ['b'], isRoot: true },
  { id: 'run1', record: { digest: d('run1'), deps: [{ input: d('from') }] }, inputs: ['from'], layers: ['b', 'r'], isRoot: false },
  { id: 'run2', record: { digest: d('run2'), deps: [{ input: d('run1') }] }, inputs: ['run1'], layers: ['b', 'r', 's'], isRoot: false },
]

/**
 * A layer store holding one blob file per layer; `s` is "still being packed" until `releaseS()`.
 * `corrupt` names a layer whose local file is shorter than its descriptor says.
 */
function fakeLayers(dir: string, o: { corrupt?: string } = {}) {
  const bytes = (id: string) => Buffer.from(`layer ${id} `.repeat(100))
  const desc = (id: string): Descriptor => ({ mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip', digest: sha256(bytes(id)), size: bytes(id).length })
  let releaseS: () => void = () => undefined
  const sPacked = new Promise<void>((resolve) => {
    releaseS = resolve
  })
  const pathOf = new Map<string, string>()
  const store = {
    async exportBlob(id: string) {
      if (id === 's') await sPacked
      const file = join(dir, `blob-${id}`)
      await writeFile(file, o.corrupt === id ? bytes(id).subarray(1) : bytes(id))
      pathOf.set(desc(id).digest, file)
      return desc(id)
    },
    async diffID(id: string) {
      return d(`tar-${id}`)
    },
    async must(_id: string) {
      return { createdAt: 1704067200 }
    },
    async localBlobPath(x: Pick<Descriptor, 'digest'>) {
      return pathOf.get(x.digest)
    },
    async openBlob(x: Descriptor) {
      const file = pathOf.get(x.digest)
      return file === undefined ? undefined : Readable.from([Buffer.from(`no stream for ${file}`)])
    },
  }
  return { layers: store as unknown as LayerStore, desc, releaseS: () => releaseS() }
}

const options = {
  mode: 'max' as const,
  blobs: { compression: 'gzip' as const, force: false },
  refs: ['latest'],
  merge: false,
  now: new Date('2025-01-01T00:00:00Z'),
}

describe('exportCache', () => {
  let root: string
  before(async () => {
    root = await mkdtemp(join(tmpdir(), 'cairn-exporter-'))
  })
  after(() => rm(root, { recursive: true, force: true }))

  it('puts each blob at the destination as soon as it is packed, and writes the ref only once every blob is there', async () => {
    const dir = join(root, 'early')
    const src = join(root, 'early-src')
    await mkdir(src)
    const f = fakeLayers(src)
    const transport = createLocalTransport({ dir, mode: 'export' })
    const exported = exportCache(steps, ['run2'], transport, options, { layers: f.layers, signal: new AbortController().signal })
    const blobFile = (id: string) => join(dir, 'blobs', 'sha256', hexOf(f.desc(id).digest))
    // while `s` is still being packed, `b` and `r` arrive; no ref names anything yet
    for (let i = 0; i < 200 && !(existsSync(blobFile('b')) && existsSync(blobFile('r'))); i++) await new Promise((r) => setTimeout(r, 5))
    assert.ok(existsSync(blobFile('b')) && existsSync(blobFile('r')), 'the packed blobs are at the destination before the last layer is packed')
    assert.ok(!existsSync(blobFile('s')))
    assert.ok(!existsSync(join(dir, 'index.json')), 'no ref before every blob is in place')
    f.releaseS()
    const result = await exported
    assert.deepEqual({ uploaded: result.uploaded, present: result.present, layers: result.layers }, { uploaded: 3, present: 0, layers: 3 })
    assert.ok(existsSync(blobFile('s')))
    assert.ok(existsSync(join(dir, 'index.json')))
    const again = await exportCache(steps, ['run2'], transport, options, { layers: f.layers, signal: new AbortController().signal })
    assert.deepEqual({ uploaded: again.uploaded, present: again.present }, { uploaded: 0, present: 3 }, 'a second export writes no blob')
  })

  it('fails without writing a ref when a blob cannot be placed, after the placements under way have settled', async () => {
    const dir = join(root, 'bad')
    const src = join(root, 'bad-src')
    await mkdir(src)
    const f = fakeLayers(src, { corrupt: 'r' })
    f.releaseS()
    const transport = createLocalTransport({ dir, mode: 'export' })
    await assert.rejects(exportCache(steps, ['run2'], transport, options, { layers: f.layers, signal: new AbortController().signal }), /is not \d+ bytes/)
    assert.ok(!existsSync(join(dir, 'index.json')))
    const ingest = existsSync(join(dir, 'ingest')) ? await readdir(join(dir, 'ingest')) : []
    assert.deepEqual(ingest, [], 'no temporary file left behind')
  })
})

import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import type { Descriptor } from '../../core/descriptor.ts'
import { type Digest, sha256 } from '../../core/digest.ts'
import { buildCacheGraph, type ExportStep } from './build-graph.ts'

const d = (s: string) => sha256(s) as Digest
const blob = (id: string): Descriptor => ({
  mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip',
  digest: d(`blob-${id}`),
  size: id.length,
  annotations: { 'containerd.io/uncompressed': d(`tar-${id}`), 'buildkit/createdat': '2024-01-01T00:00:00Z' },
})

// FROM (base layer b) → RUN (adds r) → RUN (adds s)
const steps: ExportStep[] = [
  { id: 'from', record: { digest: d('from'), deps: [] }, inputs: [], layers: ['b'], isRoot: true },
  { id: 'run1', record: { digest: d('run1'), deps: [{ input: d('from') }] }, inputs: ['from'], layers: ['b', 'r'], isRoot: false },
  { id: 'run2', record: { digest: d('run2'), deps: [{ input: d('run1') }] }, inputs: ['run1'], layers: ['b', 'r', 's'], isRoot: false },
]

describe('buildCacheGraph', () => {
  it('asks for every blob at once, so a layer still being packed holds up none of the others', async () => {
    const asked: string[] = []
    let releaseR: () => void = () => undefined
    const rPacked = new Promise<void>((resolve) => {
      releaseR = resolve
    })
    const layerBlob = async (id: string) => {
      asked.push(id)
      if (id === 'r') await rPacked // the slow one, e.g. a big layer still on the packing thread
      return blob(id)
    }
    const graph = buildCacheGraph(steps, { mode: 'max', finals: ['run2'], layerBlob, createdAt: async () => '2024-01-01T00:00:00Z' })
    // 'b' and 's' are asked for while 'r' is still pending
    await new Promise((resolve) => setImmediate(resolve))
    assert.deepEqual([...asked].sort(), ['b', 'r', 's'])
    releaseR()
    const { builder, blobs } = await graph
    assert.deepEqual([...blobs.keys()], ['b', 'r', 's'])
    // results keep the build's order and their chains: run1 → [b, r], run2 → [b, r, s]
    const chains = builder
      .graph()
      .records.filter((r) => r.results.length > 0)
      .map((r) => r.results[0]?.chain.map((l) => l.blob.digest))
    assert.deepEqual(chains, [
      [blob('b').digest, blob('r').digest],
      [blob('b').digest, blob('r').digest, blob('s').digest],
    ])
  })

  it('mode=min asks only for the final chain', async () => {
    const asked: string[] = []
    const { blobs } = await buildCacheGraph(steps.slice(0, 2), {
      mode: 'min',
      finals: ['run1'],
      layerBlob: async (id) => {
        asked.push(id)
        return blob(id)
      },
      createdAt: async () => '2024-01-01T00:00:00Z',
    })
    assert.deepEqual(asked.sort(), ['b', 'r'])
    assert.deepEqual([...blobs.keys()], ['b', 'r'])
  })
})

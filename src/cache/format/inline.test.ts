import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import type { Descriptor } from '../../core/descriptor.ts'
import { FailedPreconditionError } from '../../core/errors.ts'
import { CacheGraphBuilder } from './builder.ts'
import { decodeInlineCache, encodeInlineCache } from './inline.ts'
import { D, GZ, L1, L2, L3 } from './test-fixtures.ts'

const img: Descriptor[] = [L1, L2, L3].map((l) => ({ mediaType: GZ, digest: l.digest, size: l.size }))

function graph() {
  const b = new CacheGraphBuilder()
  const root = b.addRecord(D('ee00'))
  const r1 = b.addRecord(D('ee01'), [[{ record: root }]])
  b.addResult(r1, [L1, L2], '2025-01-01T00:00:00Z') // prefix → layer 1
  const r2 = b.addRecord(D('ee02'), [[{ record: r1 }]])
  b.addResult(r2, [L1, L3], '2025-01-02T00:00:00Z') // not a prefix → chains [0, 2]
  const r3 = b.addRecord(D('ee03'), [[{ record: r1 }]])
  b.addResult(r3, [L1, { ...L1, digest: D('ff'), annotations: { 'containerd.io/uncompressed': D('fe') } }], '2025-01-03T00:00:00Z') // not in image → dropped
  return b.graph()
}

describe('inline cache (moby.buildkit.cache.v0)', () => {
  test('encodes records only, prefix results as layer n-1, others as chains, zero times', () => {
    const b64 = encodeInlineCache(graph(), img)
    assert.ok(b64)
    const recs = JSON.parse(Buffer.from(b64, 'base64').toString())
    assert.deepEqual(recs, [
      { digest: D('ee00') },
      { layers: [{ layer: 1, createdAt: '0001-01-01T00:00:00Z' }], digest: D('ee01'), inputs: [[{ link: 0 }]] },
      { chains: [{ layers: [0, 2], createdAt: '0001-01-01T00:00:00Z' }], digest: D('ee02'), inputs: [[{ link: 1 }]] },
      { digest: D('ee03'), inputs: [[{ link: 1 }]] },
    ])
  })

  test('diffID fallback: a blob whose uncompressed digest is an image layer matches', () => {
    const b = new CacheGraphBuilder()
    const root = b.addRecord(D('ee00'))
    const r = b.addRecord(D('ee01'), [[{ record: root }]])
    b.addResult(r, [{ ...L1, digest: D('c1'), annotations: { 'containerd.io/uncompressed': D('aa01') } }], '2025-01-01T00:00:00Z')
    const recs = JSON.parse(Buffer.from(encodeInlineCache(b.graph(), img) as string, 'base64').toString())
    assert.deepEqual(recs[1].layers, [{ layer: 0, createdAt: '0001-01-01T00:00:00Z' }])
  })

  test('nothing to embed when no result matches the image layers', () => {
    const b = new CacheGraphBuilder()
    b.addRecord(D('ee00'))
    assert.equal(encodeInlineCache(b.graph(), img), undefined)
  })

  test('decodes against the image: implicit parent k-1 layers, annotations from diff_ids and history', () => {
    const value = encodeInlineCache(graph(), img) as string
    const config = {
      architecture: 'amd64',
      os: 'linux',
      rootfs: { type: 'layers', diff_ids: [D('bb01'), D('bb02'), D('bb03')] },
      history: [
        { created: '2025-01-01T00:00:00Z', created_by: 'ADD base' },
        { created: '2025-01-01T00:00:01Z', created_by: 'ENV A=1', empty_layer: true },
        { created: '2025-01-01T00:00:02Z', created_by: 'RUN make' },
        { created_by: 'COPY . .' },
      ],
      'moby.buildkit.cache.v0': value,
    }
    const r = decodeInlineCache(Buffer.from(JSON.stringify(config)), img)
    assert.ok(r.ok)
    assert.deepEqual(r.layers[1]?.annotations, {
      'containerd.io/uncompressed': D('bb02'),
      'buildkit/createdat': '2025-01-01T00:00:02Z',
      'buildkit/description': 'RUN make',
    })
    assert.deepEqual(r.layers[2]?.annotations, { 'containerd.io/uncompressed': D('bb03'), 'buildkit/description': 'COPY . .' })
    const byDigest = new Map(r.graph.records.map((x) => [x.digest, x]))
    assert.deepEqual(
      byDigest.get(D('ee01'))?.results[0]?.chain.map((l) => l.blob.digest),
      [D('aa01'), D('aa02')],
    )
    assert.deepEqual(
      byDigest.get(D('ee02'))?.results[0]?.chain.map((l) => l.blob.digest),
      [D('aa01'), D('aa03')],
    )
  })

  test('skips (ok: false) without the key or with a diff_ids/layers mismatch; corrupt values throw', () => {
    const base = { rootfs: { diff_ids: [D('bb01'), D('bb02'), D('bb03')] } }
    const no = decodeInlineCache(base, img)
    assert.equal(no.ok, false)
    assert.match((no as { reason: string }).reason, /no moby\.buildkit\.cache\.v0/)
    const mismatch = decodeInlineCache({ rootfs: { diff_ids: [D('bb01')] }, 'moby.buildkit.cache.v0': 'W10=' }, img)
    assert.match((mismatch as { reason: string }).reason, /1 diff_ids but the manifest has 3 layers/)
    assert.throws(() => decodeInlineCache({ ...base, 'moby.buildkit.cache.v0': 'not base64!' }, img), FailedPreconditionError)
    assert.throws(() => decodeInlineCache({ ...base, 'moby.buildkit.cache.v0': Buffer.from('{}').toString('base64') }, img), /expected a JSON array of records/)
    const loop = Buffer.from(JSON.stringify([{ digest: D('ee00'), inputs: [[{ link: 0 }]] }])).toString('base64')
    assert.throws(() => decodeInlineCache({ ...base, 'moby.buildkit.cache.v0': loop }, img), /invalid looping record/)
  })
})

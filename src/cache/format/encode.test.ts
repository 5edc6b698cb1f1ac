import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import { sha256 } from '../../core/digest.ts'
import { InvalidArgumentError } from '../../core/errors.ts'
import { CacheGraphBuilder } from './builder.ts'
import { encodeCacheConfig } from './encode.ts'
import { D, exampleGraph, GZ, golden, L1, L2, L3, shuffled, text } from './test-fixtures.ts'
import type { CacheGraph, GraphRecord } from './types.ts'

describe('encodeCacheConfig', () => {
  test('matches the hand-written golden of the reference §1.1 example byte for byte', () => {
    const enc = encodeCacheConfig(exampleGraph())
    assert.equal(text(enc.config), golden('example.config.golden'))
    assert.deepEqual(enc.configDescriptor, { mediaType: 'application/vnd.buildkit.cacheconfig.v0', digest: sha256(enc.config), size: enc.config.length })
  })

  test('layer descriptors: one per digest, config order, OCI media types, annotations kept', () => {
    const { layers } = encodeCacheConfig(exampleGraph())
    assert.deepEqual(
      layers.map((l) => [l.digest, l.mediaType]),
      [
        [D('aa01'), GZ],
        [D('aa02'), GZ], // Docker gzip normalised to OCI (§1.6.3)
        [D('aa03'), 'application/vnd.oci.image.layer.v1.tar+zstd'],
      ],
    )
    assert.equal(layers[0]?.annotations?.['containerd.io/uncompressed'], D('bb01'))
    assert.deepEqual(Object.keys(layers[1]?.annotations ?? {}), ['buildkit/createdat', 'containerd.io/uncompressed'])
  })

  test('quirks golden: same blob on two parent chains gets two layer entries; selector written; parent index remapped', () => {
    const X = { mediaType: GZ, digest: D('aa10'), size: 1, annotations: { 'containerd.io/uncompressed': D('bb10') } }
    const Y = { mediaType: GZ, digest: D('aa20'), size: 2, annotations: { 'containerd.io/uncompressed': D('bb20') } }
    const b = new CacheGraphBuilder()
    const q0 = b.addRecord(D('ee10'))
    const q2 = b.addRecord(D('ee12'), [[{ record: q0 }]])
    const q1 = b.addRecord(D('ee11'), [[{ record: q0, selector: D('5e1') }]])
    b.addResult(q2, [Y, X], '2025-01-02T00:00:00Z')
    b.addResult(q1, [X], '2025-01-01T00:00:00Z')
    const enc = encodeCacheConfig(b.graph())
    assert.equal(text(enc.config), golden('quirks.config.golden'))
    assert.deepEqual(
      enc.layers.map((l) => l.digest),
      [D('aa10'), D('aa20')],
    )
  })

  test('determinism: any insertion order, shuffled records and shuffled OR-lists give identical bytes', () => {
    const want = text(encodeCacheConfig(exampleGraph()).config)
    assert.equal(text(encodeCacheConfig(exampleGraph('reverse')).config), want)
    const big = wideGraph()
    const wantBig = text(encodeCacheConfig(big).config)
    for (let seed = 1; seed <= 25; seed++) {
      const g: CacheGraph = { records: shuffled(big.records, seed) }
      for (const r of g.records) r.inputs = r.inputs.map((l, i) => shuffled(l, seed + i))
      assert.equal(text(encodeCacheConfig(g).config), wantBig, `seed ${seed}`)
    }
  })

  test('keeps only the newest result per record; equal times break ties by chain, not by order', () => {
    const mk = (first: 'a' | 'b'): string => {
      const b = new CacheGraphBuilder()
      const root = b.addRecord(D('ee00'))
      const r = b.addRecord(D('ee01'), [[{ record: root }]])
      const ra = (): void => b.addResult(r, [L1], '2025-01-01T00:00:00Z')
      const rb = (): void => b.addResult(r, [L2], '2025-01-01T00:00:00Z')
      for (const add of first === 'a' ? [ra, rb] : [rb, ra]) add()
      b.addResult(r, [L3], '2024-12-31T23:59:59.999999999Z')
      return text(encodeCacheConfig(b.graph()).config)
    }
    assert.equal(mk('a'), mk('b'))
    const cfg = JSON.parse(mk('a'))
    assert.equal(cfg.layers.length, 1, 'only the best chain is exported')
    assert.equal(cfg.layers[0].blob, D('aa01'))
    const b = new CacheGraphBuilder()
    const root = b.addRecord(D('ee00'))
    const r = b.addRecord(D('ee01'), [[{ record: root }]])
    b.addResult(r, [L1], '2025-01-01T00:00:00Z')
    b.addResult(r, [L2], '2025-01-01T00:00:00.000000001Z')
    assert.equal(JSON.parse(text(encodeCacheConfig(b.graph()).config)).layers[0].blob, D('aa02'), 'newest wins by nanoseconds')
  })

  test('an empty graph encodes as {} with no layers; roots without results are bare records', () => {
    const e = encodeCacheConfig({ records: [] })
    assert.equal(text(e.config), '{}')
    assert.deepEqual(e.layers, [])
    const b = new CacheGraphBuilder()
    b.addRecord(D('ee00'))
    assert.equal(text(encodeCacheConfig(b.graph()).config), `{"records":[{"digest":"${D('ee00')}"}]}`)
  })

  test('structurally identical hand-built records are merged; records reachable only through inputs are included', () => {
    const root: GraphRecord = { digest: D('ee00'), inputs: [], results: [] }
    const rootDup: GraphRecord = { digest: D('ee00'), inputs: [], results: [] }
    const child: GraphRecord = {
      digest: D('ee01'),
      inputs: [
        [
          { selector: '', record: root },
          { selector: '', record: rootDup },
        ],
      ],
      results: [],
    }
    const cfg = JSON.parse(text(encodeCacheConfig({ records: [child] }).config))
    assert.deepEqual(cfg.records, [{ digest: D('ee00') }, { digest: D('ee01'), inputs: [[{ link: 0 }]] }])
  })

  test('times are written in Go RFC3339Nano form (trailing zeros trimmed, +00:00 → Z, offsets kept)', () => {
    const b = new CacheGraphBuilder()
    const root = b.addRecord(D('ee00'))
    const r = b.addRecord(D('ee01'), [[{ record: root }]])
    b.addResult(r, [L1], '2025-03-02T08:15:31.120000000+00:00')
    const r2 = b.addRecord(D('ee02'), [[{ record: root }]])
    b.addResult(r2, [L1], '2025-03-02T10:15:31+02:00')
    const cfg = JSON.parse(text(encodeCacheConfig(b.graph()).config))
    assert.equal(cfg.records[1].layers[0].createdAt, '2025-03-02T08:15:31.12Z')
    assert.equal(cfg.records[2].layers[0].createdAt, '2025-03-02T10:15:31+02:00')
  })

  test('Go HTML-safe escaping in strings', () => {
    const b = new CacheGraphBuilder()
    const root = b.addRecord(D('ee00'))
    const r = b.addRecord(D('ee01'), [[{ record: root }]])
    b.addResult(r, [{ ...L1, annotations: { ...L1.annotations, 'x.desc': 'a<b>&c' } }], '2025-01-01T00:00:00Z')
    const { layers } = encodeCacheConfig(b.graph())
    assert.equal(layers[0]?.annotations?.['x.desc'], 'a<b>&c')
  })

  test('rejects what cannot be exported, naming it', () => {
    const cyc: GraphRecord = { digest: D('ee00'), inputs: [], results: [] }
    cyc.inputs = [[{ selector: '', record: cyc }]]
    assert.throws(
      () => encodeCacheConfig({ records: [cyc] }),
      (e: unknown) => e instanceof InvalidArgumentError && /cycle/.test(e.message),
    )
    const empty: GraphRecord = { digest: D('ee00'), inputs: [[]], results: [] }
    assert.throws(() => encodeCacheConfig({ records: [empty] }), /input 0 has no parent/)
    const noDiff: GraphRecord = {
      digest: D('ee00'),
      inputs: [],
      results: [{ chain: [{ blob: { mediaType: GZ, digest: D('aa01'), size: 1 } }], createdAt: '2025-01-01T00:00:00Z' }],
    }
    assert.throws(() => encodeCacheConfig({ records: [noDiff] }), /containerd\.io\/uncompressed/)
    const conflict: GraphRecord = {
      digest: D('ee00'),
      inputs: [],
      results: [
        { chain: [{ blob: L1 }], createdAt: '2025-01-01T00:00:00Z' },
        { chain: [{ blob: { ...L1, size: 7 } }], createdAt: '2025-01-01T00:00:00Z' },
      ],
    }
    assert.throws(() => encodeCacheConfig({ records: [conflict] }), /described twice with different sizes/)
    const badTime: GraphRecord = { digest: D('ee00'), inputs: [], results: [{ chain: [{ blob: L1 }], createdAt: 'yesterday' }] }
    assert.throws(() => encodeCacheConfig({ records: [badTime] }), /invalid time "yesterday"/)
    const emptyChain: GraphRecord = { digest: D('ee00'), inputs: [], results: [{ chain: [], createdAt: '2025-01-01T00:00:00Z' }] }
    assert.throws(() => encodeCacheConfig({ records: [emptyChain] }), /empty layer chain/)
  })
})

/** 30 records over 4 roots with multi-parent OR inputs, selectors, and shared chains. */
function wideGraph(): CacheGraph {
  const b = new CacheGraphBuilder()
  const roots = [0, 1, 2, 3].map((i) => b.addRecord(D(`e${i}`)))
  const layer = (i: number) => ({ mediaType: GZ, digest: D(`a${i % 7}`), size: i % 7, annotations: { 'containerd.io/uncompressed': D(`b${i % 7}`) } })
  const all = [...roots]
  for (let i = 0; i < 26; i++) {
    const p1 = all[(i * 7) % all.length] as GraphRecord
    const p2 = all[(i * 3 + 1) % all.length] as GraphRecord
    const inputs = i % 3 === 0 ? [[{ record: p1 }, { record: p2, selector: D(`5${i % 2}`) }]] : [[{ record: p1 }], [{ record: p2 }]]
    const r = b.addRecord(D(`f${i % 9}`), inputs)
    if (i % 4 !== 3) b.addResult(r, [layer(i), layer(i + 1), layer(i * 2)].slice(0, 1 + (i % 3)), `2025-01-0${1 + (i % 5)}T00:00:00Z`)
    all.push(r)
  }
  return b.graph()
}

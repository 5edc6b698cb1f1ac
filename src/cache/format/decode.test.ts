import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import { FailedPreconditionError } from '../../core/errors.ts'
import { decodeCacheConfig } from './decode.ts'
import { encodeCacheConfig } from './encode.ts'
import { D, exampleGraph, GZ, golden, L1, L2, L3, text } from './test-fixtures.ts'

const bytes = (s: string | object): Uint8Array => Buffer.from(typeof s === 'string' ? s : JSON.stringify(s))
const PROVIDER = [L1, L2, L3]
const corrupt = (re: RegExp) => (e: unknown) => e instanceof FailedPreconditionError && e.code === 'ERR_CACHE_FORMAT' && re.test(e.message)

describe('decodeCacheConfig', () => {
  test('decodes the golden into records → layer chains (a missing parent means layer 0)', () => {
    const g = decodeCacheConfig(bytes(golden('example.config.golden')), { descriptors: PROVIDER })
    assert.equal(g.records.length, 4)
    const r3 = g.records[3]
    assert.equal(r3?.digest, D('ee03'))
    assert.deepEqual(
      r3?.results[0]?.chain.map((l) => l.blob.digest),
      [D('aa01'), D('aa02'), D('aa03')],
    )
    assert.equal(r3?.results[0]?.createdAt, '2025-03-02T08:15:40Z')
    assert.equal(r3?.inputs[0]?.[0]?.record, g.records[2], 'inputs are object references')
    assert.equal(r3?.inputs[1]?.[0]?.record.digest, D('ee01'))
    assert.equal(r3?.results[0]?.chain[0]?.blob, L1, 'chains carry the provider descriptors (annotations included)')
  })

  test('round trip: encode → decode → encode gives identical bytes', () => {
    const first = encodeCacheConfig(exampleGraph())
    const g = decodeCacheConfig(first.config, { descriptors: first.layers })
    assert.equal(text(encodeCacheConfig(g).config), text(first.config))
  })

  test('Go decoder tolerance: case-insensitive keys, unknown keys ignored, null arrays', () => {
    const cfg = {
      Layers: [{ BLOB: D('aa01'), Parent: -1, extra: true }],
      records: [
        { DIGEST: D('ee00'), inputs: null },
        { Layers: [{ LAYER: 0, createdat: '2025-01-01T00:00:00.100Z' }], digest: D('ee01'), Inputs: [[{ Link: 0, Selector: D('5e') }]] },
      ],
      unknown: { x: 1 },
    }
    const g = decodeCacheConfig(bytes(cfg), { descriptors: PROVIDER })
    assert.equal(g.records[1]?.results[0]?.createdAt, '2025-01-01T00:00:00.1Z')
    assert.equal(g.records[1]?.inputs[0]?.[0]?.selector, D('5e'))
  })

  test('accepts `chains` results (explicit indexes, parents ignored)', () => {
    const cfg = {
      layers: [
        { blob: D('aa03'), parent: -1 },
        { blob: D('aa01'), parent: -1 },
      ],
      records: [{ chains: [{ layers: [1, 0], createdAt: '0001-01-01T00:00:00Z' }], digest: D('ee00') }],
    }
    const g = decodeCacheConfig(bytes(cfg), { descriptors: PROVIDER })
    assert.deepEqual(
      g.records[0]?.results[0]?.chain.map((l) => l.blob.digest),
      [D('aa01'), D('aa03')],
    )
  })

  test('results naming blobs outside the provider are dropped silently (layers and chains)', () => {
    const cfg = {
      layers: [{ blob: D('aa01'), parent: -1 }, { blob: D('dead'), parent: 0 }, { blob: D('aa02') }],
      records: [
        {
          layers: [
            { layer: 1, createdAt: '2025-01-01T00:00:00Z' },
            { layer: 2, createdAt: '2025-01-01T00:00:00Z' },
          ],
          digest: D('ee00'),
        },
        { chains: [{ layers: [0, 1], createdAt: '2025-01-01T00:00:00Z' }], digest: D('ee01') },
      ],
    }
    const g = decodeCacheConfig(bytes(cfg), { descriptors: PROVIDER })
    assert.deepEqual(
      g.records[0]?.results.map((r) => r.chain.map((l) => l.blob.digest)),
      [[D('aa01'), D('aa02')]],
    )
    assert.deepEqual(g.records[1]?.results, [])
  })

  const cases: [string, object | string, RegExp][] = [
    [
      'looping record',
      {
        records: [
          { digest: D('ee00'), inputs: [[{ link: 1 }]] },
          { digest: D('ee01'), inputs: [[{ link: 0 }]] },
        ],
      },
      /invalid looping record/,
    ],
    ['self-link', { records: [{ digest: D('ee00'), inputs: [[{ link: 0 }]] }] }, /records\[0\]\.inputs\[0\]: invalid looping record/],
    ['link out of range', { records: [{ digest: D('ee00'), inputs: [[{ link: 5 }]] }] }, /link to record 5 out of range \(1 records\)/],
    ['negative link', { records: [{ digest: D('ee00'), inputs: [[{ link: -1 }]] }] }, /link to record -1 out of range/],
    ['empty input list', { records: [{ digest: D('ee00'), inputs: [[]] }] }, /records\[0\]\.inputs\[0\]: invalid empty input for record 0/],
    [
      'result layer out of range',
      { layers: [], records: [{ digest: D('ee00'), layers: [{ layer: 3, createdAt: '2025-01-01T00:00:00Z' }] }] },
      /records\[0\]\.layers\[0\]: layer index 3 out of range \(0 layers\)/,
    ],
    [
      'chain layer out of range',
      { layers: [{ blob: D('aa01'), parent: -1 }], records: [{ digest: D('ee00'), chains: [{ layers: [0, 9] }] }] },
      /chains\[0\]: layer index 9 out of range/,
    ],
    [
      'parent out of range',
      { layers: [{ blob: D('aa01'), parent: 4 }], records: [{ digest: D('ee00'), layers: [{ layer: 0 }] }] },
      /layer index 4 out of range/,
    ],
    [
      'looping layer (missing parent = 0 on layer 0)',
      { layers: [{ blob: D('aa01') }], records: [{ digest: D('ee00'), layers: [{ layer: 0 }] }] },
      /invalid looping layer/,
    ],
    [
      'looping layers',
      {
        layers: [
          { blob: D('aa01'), parent: 1 },
          { blob: D('aa02'), parent: 0 },
        ],
        records: [{ digest: D('ee00'), layers: [{ layer: 0 }] }],
      },
      /invalid looping layer/,
    ],
    ['not JSON', '{"records":[', /cache config: not valid JSON/],
    ['not an object', '[]', /expected a JSON object/],
    ['records not an array', { records: {} }, /records: expected an array/],
    ['non-integer link', { records: [{ digest: D('ee00') }, { digest: D('ee01'), inputs: [[{ link: 0.5 }]] }] }, /link: expected an integer/],
    ['bad record digest', { records: [{ digest: 'random:abc' }] }, /records\[0\]: invalid digest "random:abc"/],
    [
      'bad time',
      { layers: [{ blob: D('aa01'), parent: -1 }], records: [{ digest: D('ee00'), layers: [{ layer: 0, createdAt: 'soon' }] }] },
      /createdAt: invalid time "soon"/,
    ],
  ]
  for (const [name, cfg, re] of cases) {
    test(`rejects: ${name}`, () => {
      assert.throws(() => decodeCacheConfig(bytes(cfg), { descriptors: PROVIDER }), corrupt(re))
    })
  }

  test('size limit: exactly 1 MiB is accepted, one byte more is not; maxBytes overrides', () => {
    const base = `{"records":[{"digest":"${D('ee00')}"}]`
    const pad = (n: number): Uint8Array => Buffer.from(`${base}${' '.repeat(n - base.length - 1)}}`)
    assert.equal(decodeCacheConfig(pad(1 << 20), { descriptors: [] }).records.length, 1)
    assert.throws(
      () => decodeCacheConfig(pad((1 << 20) + 1), { descriptors: [] }),
      (e: unknown) => e instanceof FailedPreconditionError && e.code === 'ERR_CACHE_TOO_LARGE' && /1048577 bytes/.test(e.message),
    )
    assert.equal(decodeCacheConfig(pad((1 << 20) + 1), { descriptors: [], maxBytes: 2 << 20 }).records.length, 1)
  })

  test('duplicate provider descriptors: first wins', () => {
    const g = decodeCacheConfig(bytes({ layers: [{ blob: D('aa01'), parent: -1 }], records: [{ digest: D('ee00'), layers: [{ layer: 0 }] }] }), {
      descriptors: [L1, { ...L1, mediaType: GZ, size: 99 }],
    })
    assert.equal(g.records[0]?.results[0]?.chain[0]?.blob.size, L1.size)
    assert.equal(g.records[0]?.results[0]?.createdAt, '0001-01-01T00:00:00Z', 'a missing time is the zero time')
  })
})

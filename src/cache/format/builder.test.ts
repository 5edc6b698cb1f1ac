import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import { InvalidArgumentError } from '../../core/errors.ts'
import { CacheGraphBuilder } from './builder.ts'
import { D, L1, L2 } from './test-fixtures.ts'

describe('CacheGraphBuilder (chains.go Add normalisation)', () => {
  test('roots are deduplicated by digest', () => {
    const b = new CacheGraphBuilder()
    assert.equal(b.addRecord(D('ee00')), b.addRecord(D('ee00')))
    assert.equal(b.graph().records.length, 1)
  })

  test('a non-root reached again through the same parent is reused, and new alternative parents are unioned', () => {
    const b = new CacheGraphBuilder()
    const a = b.addRecord(D('ee0a'))
    const c = b.addRecord(D('ee0c'))
    const x = b.addRecord(D('ee01'), [[{ record: a }]])
    const again = b.addRecord(D('ee01'), [[{ record: a }, { record: c }]])
    assert.equal(again, x)
    assert.deepEqual(
      x.inputs[0]?.map((i) => i.record.digest),
      [D('ee0a'), D('ee0c')],
    )
    const other = b.addRecord(D('ee01'), [[{ record: b.addRecord(D('ee0b')) }]])
    assert.notEqual(other, x, 'different parents → a different record with the same digest')
    assert.notEqual(b.addRecord(D('ee01'), [[{ record: a, selector: D('5e') }]]), x, 'the selector is part of the link')
  })

  test('several matching records are merged into one; children are re-pointed', () => {
    const b = new CacheGraphBuilder()
    const a = b.addRecord(D('ee0a'))
    const c = b.addRecord(D('ee0c'))
    const x1 = b.addRecord(D('ee01'), [[{ record: a }]])
    const x2 = b.addRecord(D('ee01'), [[{ record: c }]])
    b.addResult(x2, [L1], '2025-01-01T00:00:00Z')
    const child = b.addRecord(D('ee02'), [[{ record: x2 }]])
    const merged = b.addRecord(D('ee01'), [[{ record: a }, { record: c }]])
    assert.equal(merged, x1)
    assert.equal(b.graph().records.filter((r) => r.digest === D('ee01')).length, 1)
    assert.equal(child.inputs[0]?.[0]?.record, x1)
    assert.equal(x1.results.length, 1, 'results moved over')
  })

  test('identical chains are stored once, keeping the newest time', () => {
    const b = new CacheGraphBuilder()
    const r = b.addRecord(D('ee00'))
    b.addResult(r, [L1, L2], '2025-01-01T00:00:00Z')
    b.addResult(r, [L1, L2], '2025-02-01T00:00:00Z')
    b.addResult(r, [L1, L2], '2024-02-01T00:00:00Z')
    assert.deepEqual(
      r.results.map((x) => x.createdAt),
      ['2025-02-01T00:00:00Z'],
    )
    assert.equal(b.layer(L1), r.results[0]?.chain[0], 'layers are interned by digest')
  })

  test('rejects invalid input with InvalidArgumentError', () => {
    const b = new CacheGraphBuilder()
    const stranger = new CacheGraphBuilder().addRecord(D('ee00'))
    assert.throws(() => b.addRecord('random:abc' as never), InvalidArgumentError)
    assert.throws(() => b.addRecord(D('ee01'), [[]]), /input 0 has no parent/)
    assert.throws(() => b.addRecord(D('ee01'), [[{ record: stranger }]]), /not added to this builder/)
    const r = b.addRecord(D('ee00'))
    assert.throws(() => b.addResult(r, [], '2025-01-01T00:00:00Z'), /empty layer chain/)
    assert.throws(() => b.addResult(r, [{ ...L1, annotations: {} }], '2025-01-01T00:00:00Z'), /containerd\.io\/uncompressed/)
    assert.throws(() => b.addResult(r, [L1, { ...L1, size: 1 }], '2025-01-01T00:00:00Z'), /different sizes/)
  })
})

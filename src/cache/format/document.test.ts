import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import { FailedPreconditionError } from '../../core/errors.ts'
import { decodeConfigDocument, encodeConfigDocument } from './document.ts'
import { D, exampleGraph, golden, text } from './test-fixtures.ts'

describe('object-store config document (gha, s3, azblob)', () => {
  test('matches the golden: annotations inside layers[], createdAt in UTC, zero time when unknown', () => {
    const e = encodeConfigDocument(exampleGraph())
    assert.equal(text(e.config), golden('example.document.golden'))
    assert.equal(e.layers.length, 3)
  })

  test('decode rebuilds descriptors from annotations; round trip is byte-identical', () => {
    const d = decodeConfigDocument(Buffer.from(golden('example.document.golden')))
    assert.deepEqual(d.layers[0], {
      mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip',
      digest: D('aa01'),
      size: 3401613,
      annotations: { 'containerd.io/uncompressed': D('bb01'), 'buildkit/createdat': '2025-03-01T09:00:00.5Z' },
    })
    assert.deepEqual(d.layers[2]?.annotations, { 'containerd.io/uncompressed': D('bb03') }, 'zero createdAt → no annotation')
    assert.equal(text(encodeConfigDocument(d.graph).config), golden('example.document.golden'))
    assert.deepEqual(
      d.graph.records[3]?.results[0]?.chain.map((l) => l.blob.digest),
      [D('aa01'), D('aa02'), D('aa03')],
    )
  })

  test('an empty cache is {} (object stores write it anyway)', () => {
    assert.equal(text(encodeConfigDocument({ records: [] }).config), '{}')
    assert.deepEqual(decodeConfigDocument(Buffer.from('{}')).graph.records, [])
  })

  const bad: [string, object, RegExp][] = [
    ['no annotations', { layers: [{ blob: D('aa01'), parent: -1 }] }, /no annotations for layer/],
    ['no diffID', { layers: [{ blob: D('aa01'), parent: -1, annotations: { mediaType: 'x', size: 1 } }] }, /no diffID for layer/],
    ['bad diffID', { layers: [{ blob: D('aa01'), parent: -1, annotations: { diffID: 'sha256:zz' } }] }, /invalid diffID/],
    ['bad blob', { layers: [{ blob: 'md5:1', parent: -1, annotations: { diffID: D('bb') } }] }, /invalid blob digest/],
  ]
  for (const [name, doc, re] of bad) {
    test(`rejects: ${name}`, () => {
      assert.throws(
        () => decodeConfigDocument(Buffer.from(JSON.stringify(doc))),
        (e: unknown) => e instanceof FailedPreconditionError && re.test(e.message),
      )
    })
  }
})

import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { parseOutputSpec } from '../export/output-spec.ts'
import { parseImageRef, normalizeImageName } from '../oci/reference.ts'
import { parseCsvAttrs, splitCsv } from './csv.ts'

describe('CSV specs', () => {
  it('splits with quotes as buildx does', () => {
    assert.deepEqual(splitCsv('type=local,"dest=a,b",mode=max', 'x'), ['type=local', 'dest=a,b', 'mode=max'])
    assert.deepEqual([...parseCsvAttrs('Type=oci,dest=x.tar', 'x')], [['type', 'oci'], ['dest', 'x.tar']])
    assert.throws(() => splitCsv('type="x', 'spec'), /unterminated quote/)
    assert.throws(() => parseCsvAttrs('type', 'output'), /expected key=value/)
  })
  it('parses outputs and rejects unknown types and attributes with the valid ones', () => {
    assert.deepEqual(parseOutputSpec('type=oci,dest=a.tar'), { type: 'oci', dest: 'a.tar', compression: 'gzip', names: [] })
    assert.deepEqual(parseOutputSpec('./out'), { type: 'local', dest: './out' })
    assert.deepEqual(parseOutputSpec('type=image,"name=a:1,b:2"'), { type: 'image', names: ['a:1', 'b:2'], push: false })
    assert.throws(() => parseOutputSpec('type=nope'), /unknown output type "nope"/)
    assert.throws(() => parseOutputSpec('type=oci,dets=x'), (e: Error & { hint?: string }) => /unknown attribute "dets"/.test(e.message) && /dest/.test(e.hint ?? ''))
    assert.throws(() => parseOutputSpec('type=oci'), /needs dest=PATH/)
  })
  it('normalises image references as Docker does', () => {
    assert.equal(normalizeImageName('busybox'), 'docker.io/library/busybox:latest')
    assert.equal(normalizeImageName('team/app:1'), 'docker.io/team/app:1')
    assert.equal(normalizeImageName('127.0.0.1:5000/base:1.0'), '127.0.0.1:5000/base:1.0')
    assert.equal(normalizeImageName('localhost/x'), 'localhost/x:latest')
    const d = `sha256:${'a'.repeat(64)}`
    assert.deepEqual(parseImageRef(`ghcr.io/o/r@${d}`), { domain: 'ghcr.io', path: 'o/r', digest: d })
    assert.throws(() => parseImageRef('Upper/Case'), /invalid reference format/)
  })
})

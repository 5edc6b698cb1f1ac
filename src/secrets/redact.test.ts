import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { createRedactor, redactDeep, StreamRedactor } from './redact.ts'

describe('createRedactor', () => {
  it('masks values, their JSON-escaped form and the lines of multi-line values; ignores too-short values', () => {
    const r = createRedactor(['s3cr3t-value', 'ab', 'quote"d\\val'])
    r.add('-----BEGIN KEY-----\nAAAABBBBCCCCDDDD\n-----END KEY-----')
    assert.equal(r.redact('token=s3cr3t-value; again s3cr3t-value'), 'token=***; again ***')
    assert.equal(r.redact('ab stays'), 'ab stays')
    assert.equal(r.redact(JSON.stringify({ v: 'quote"d\\val' })), '{"v":"***"}')
    assert.equal(r.redact('line: AAAABBBBCCCCDDDD'), 'line: ***')
  })

  it('learns values later', () => {
    const r = createRedactor()
    assert.equal(r.redact('token abcdef'), 'token abcdef')
    r.add('abcdef')
    assert.equal(r.redact('token abcdef'), 'token ***')
  })

  it('redactDeep masks every string of a JSON value', () => {
    const r = createRedactor(['hunter22'])
    assert.deepEqual(redactDeep({ a: ['x hunter22'], b: { c: 'hunter22', n: 1 } }, r.redact), { a: ['x ***'], b: { c: '***', n: 1 } })
  })
})

describe('StreamRedactor', () => {
  const r = createRedactor(['top-secret-token'])
  const text = Buffer.from('before top-secret-token after ünïcode top-secret-token!\n')

  it('masks a value split at any point, and never shows part of it', () => {
    for (let cut = 0; cut <= text.length; cut++) {
      for (const second of [cut, Math.min(text.length, cut + 5)]) {
        const s = new StreamRedactor(r)
        const parts = [s.push(text.subarray(0, cut)), s.push(text.subarray(cut, second)), s.push(text.subarray(second)), s.flush()]
        const out = Buffer.concat(parts).toString()
        assert.equal(out, 'before *** after ünïcode ***!\n', `cuts ${cut}/${second}`)
        for (const p of parts) assert.ok(!p.toString().includes('top-secret'), 'no partial value in any emitted chunk')
      }
    }
  })

  it('holds back only what could start a secret (and incomplete UTF-8)', () => {
    const s = new StreamRedactor(r)
    assert.equal(s.push(Buffer.from('hello top-')).toString(), 'hello ')
    assert.equal(s.push(Buffer.from('level\n')).toString(), 'top-level\n')
    assert.equal(s.push(Buffer.from([0xc3])).length, 0)
    assert.equal(s.push(Buffer.from([0xbc])).toString(), 'ü')
  })
})

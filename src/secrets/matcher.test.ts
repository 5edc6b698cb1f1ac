import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { describe, it } from 'node:test'
import { createStreamMatcher } from './matcher.ts'

const feed = (m: ReturnType<typeof createStreamMatcher>, data: Buffer, cuts: number[]) => {
  let found: string | undefined
  let at = 0
  for (const c of [...cuts, data.length]) {
    found = m.push(data.subarray(at, c)) ?? found
    at = c
  }
  return found
}

describe('createStreamMatcher', () => {
  const secret = Buffer.from('hunter2-is-the-password')
  const data = Buffer.concat([randomBytes(1000).map((b) => b & 0x7f), secret, Buffer.from('tail')])

  it('finds a secret inside one chunk and at every split point across two and three chunks', () => {
    assert.equal(feed(createStreamMatcher([{ id: 'pw', value: secret }]), data, []), 'pw')
    for (let cut = 990; cut <= 1030; cut++) {
      assert.equal(feed(createStreamMatcher([{ id: 'pw', value: secret }]), data, [cut]), 'pw', `cut at ${cut}`)
      assert.equal(feed(createStreamMatcher([{ id: 'pw', value: secret }]), data, [cut, cut + 3]), 'pw', `cuts at ${cut}, ${cut + 3}`)
    }
  })

  it('finds a secret fed one byte at a time', () => {
    const m = createStreamMatcher([{ id: 'pw', value: secret }])
    let hit: string | undefined
    for (let i = 0; i < data.length; i++) hit = m.push(data.subarray(i, i + 1)) ?? hit
    assert.equal(hit, 'pw')
    assert.equal(m.bytes, data.length)
  })

  it('reports nothing for clean data, ignores values shorter than 4 bytes, and names the right one of several', () => {
    const clean = Buffer.from('x'.repeat(5000))
    assert.equal(feed(createStreamMatcher([{ id: 'pw', value: secret }]), clean, [100, 2000]), undefined)
    assert.equal(feed(createStreamMatcher([{ id: 'short', value: Buffer.from('xxx') }]), clean, []), undefined)
    const m = createStreamMatcher([
      { id: 'a', value: Buffer.from('aaaa-not-here') },
      { id: 'pw', value: secret },
      { id: 'b', value: Buffer.from('bbbb-not-here') },
    ])
    assert.equal(feed(m, data, [1005]), 'pw')
  })

  it('agrees with a naive search on random data and random chunkings', () => {
    for (let round = 0; round < 200; round++) {
      const alphabet = Buffer.from('ab')
      const hay = Buffer.from(Array.from({ length: 300 }, () => alphabet[Math.floor(Math.random() * 2)] as number))
      const pats = [0, 1, 2].map((i) => ({
        id: `p${i}`,
        value: Buffer.from(Array.from({ length: 6 + i * 3 }, () => alphabet[Math.floor(Math.random() * 2)] as number)),
      }))
      const expected = pats.some((p) => hay.indexOf(p.value) >= 0)
      const cuts = [...new Set(Array.from({ length: 5 }, () => Math.floor(Math.random() * hay.length)))].sort((a, b) => a - b)
      assert.equal(feed(createStreamMatcher(pats), hay, cuts) !== undefined, expected, `round ${round}`)
    }
  })
})

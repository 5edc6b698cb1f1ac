import assert from 'node:assert/strict'
import { Readable, Writable } from 'node:stream'
import { pipeline } from 'node:stream/promises'
import { describe, it } from 'node:test'
import { TeeStream } from './streams.ts'

const chunks = () => Array.from({ length: 64 }, (_, i) => Buffer.alloc(16 * 1024, i))
async function drain(tee: TeeStream): Promise<Buffer> {
  const out: Buffer[] = []
  await pipeline(Readable.from(chunks()), tee, new Writable({ write: (c: Buffer, _e, cb) => (out.push(c), cb()) }))
  return Buffer.concat(out)
}

describe('TeeStream', () => {
  it('passes every byte on and writes the same bytes into the copy, waiting for a slow copy', async () => {
    const copied: Buffer[] = []
    const slow = new Writable({ highWaterMark: 1024, write: (c: Buffer, _e, cb) => setImmediate(() => (copied.push(c), cb())) })
    const tee = new TeeStream(slow)
    const main = await drain(tee)
    assert.deepEqual(main, Buffer.concat(chunks()))
    assert.deepEqual(Buffer.concat(copied), main)
    assert.equal(tee.failed, false)
    assert.ok(slow.writableFinished, 'the copy is ended with the input')
  })

  it('a copy that fails does not fail the main line', async () => {
    let n = 0
    const broken = new Writable({ write: (_c, _e, cb) => cb(++n === 3 ? new Error('disk full') : null) })
    const tee = new TeeStream(broken)
    const main = await drain(tee)
    assert.deepEqual(main, Buffer.concat(chunks()))
    assert.equal(tee.failed, true)
  })
})

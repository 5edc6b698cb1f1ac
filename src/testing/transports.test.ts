import assert from 'node:assert/strict'
import { createHash } from 'node:crypto'
import { Readable } from 'node:stream'
import { describe, test } from 'node:test'
import { sha256 } from '../core/digest.ts'
import { NotFoundError, UnavailableError } from '../core/errors.ts'
import { cacheTransportSuite } from './cache-transport-suite.ts'
import { faultyTransport } from './faulty-transport.ts'
import { createMemoryTransport } from './memory-transport.ts'
import { prngBytes, prngDigest, prngStream } from './prng.ts'

// The fake must pass the same contract as the real transports (a small large-blob size: it buffers).
cacheTransportSuite('memory fake', async () => ({ transport: createMemoryTransport(), cleanup: async () => {} }), { largeBlobSize: 4 * 1024 * 1024 })

async function readAll(s: Readable): Promise<Buffer> {
  const parts: Buffer[] = []
  for await (const c of s) parts.push(c as Buffer)
  return Buffer.concat(parts)
}

describe('faultyTransport', () => {
  test('missing, truncate, bitflip and unavailable faults; others pass through', async () => {
    const inner = createMemoryTransport()
    const blobs = [1, 2, 3, 4, 5].map((s) => prngBytes(s, 100_000))
    for (const b of blobs) await inner.putBlob({ digest: sha256(b), size: b.length, mediaType: 'x' }, () => Readable.from([b]))
    const [ok, gone, cut, flipped, down] = blobs.map((b) => ({ digest: sha256(b), size: b.length })) as [
      { digest: ReturnType<typeof sha256>; size: number },
      ...{ digest: ReturnType<typeof sha256>; size: number }[],
    ]
    const f = faultyTransport(inner, {
      missing: [gone?.digest as never],
      truncate: [cut?.digest as never],
      bitflip: [flipped?.digest as never],
      unavailable: [down?.digest as never],
    })
    assert.ok((await readAll(await f.openBlob(ok))).equals(blobs[0] as Buffer))
    assert.equal(await f.statBlob(gone?.digest as never), undefined)
    await assert.rejects(f.openBlob(gone as never), NotFoundError)
    await assert.rejects(f.openBlob(down as never), UnavailableError)
    const t = await readAll(await f.openBlob(cut as never))
    assert.equal(t.length, 50_000)
    assert.ok(t.equals((blobs[2] as Buffer).subarray(0, 50_000)))
    const fl = await readAll(await f.openBlob(flipped as never))
    assert.equal(fl.length, 100_000)
    assert.notEqual(sha256(fl), flipped?.digest)
    assert.equal(fl.filter((x, i) => x !== (blobs[3] as Buffer)[i]).length, 1, 'exactly one byte differs')
    assert.equal(f.calls.openBlob, 5)
    assert.equal(f.location, 'memory: (faulty)')
  })
})

describe('prng', () => {
  test('the stream is deterministic, chunk-size independent and matches prngDigest', async () => {
    const a = await readAll(prngStream(7, 300_001, 4096))
    const b = await readAll(prngStream(7, 300_001, 65536))
    assert.ok(a.equals(b))
    assert.ok(a.equals(prngBytes(7, 300_001)))
    assert.equal(`sha256:${createHash('sha256').update(a).digest('hex')}`, await prngDigest(7, 300_001))
    assert.ok(!a.equals(await readAll(prngStream(8, 300_001))))
  })
})

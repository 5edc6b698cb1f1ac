import assert from 'node:assert/strict'
import { createHash, randomBytes } from 'node:crypto'
import { closeSync, createReadStream, createWriteStream, openSync } from 'node:fs'
import { mkdir, open, stat } from 'node:fs/promises'
import { join } from 'node:path'
import { pipeline } from 'node:stream/promises'
import { after, before, describe, it } from 'node:test'
import { applyLayer } from './apply.ts'
import { decompressStream } from './compress.ts'
import { cleanup, tempDir } from './test-support.ts'
import { packLayer } from './write-layer.ts'

const SIZE = 300 * 1024 * 1024
const LIMIT = 100 * 1024 * 1024

/** Samples RSS while `fn` runs; returns the peak growth over the starting RSS. */
async function peakRssGrowth(fn: () => Promise<void>): Promise<number> {
  globalThis.gc?.()
  const start = process.memoryUsage().rss
  let peak = start
  const timer = setInterval(() => {
    peak = Math.max(peak, process.memoryUsage().rss)
  }, 10)
  try {
    await fn()
  } finally {
    clearInterval(timer)
  }
  return Math.max(peak, process.memoryUsage().rss) - start
}

describe('streaming a 300 MB layer', () => {
  let w: string
  let fileHash: string
  before(async () => {
    w = await tempDir('mem')
    await mkdir(join(w, 'src'))
    const fh = await open(join(w, 'src/big.bin'), 'w')
    const h = createHash('sha256')
    const block = randomBytes(1024 * 1024)
    try {
      for (let i = 0; i < SIZE / block.length; i++) {
        block.writeUInt32LE(i, 0) // distinct blocks, so nothing dedups or compresses away
        h.update(block)
        await fh.write(block)
      }
    } finally {
      await fh.close()
    }
    fileHash = h.digest('hex')
  })
  after(() => cleanup(w))

  it('packs (gzip) and applies with bounded memory', { timeout: 60_000 }, async (t) => {
    const blob = join(w, 'layer.tar.gz')
    let res: Awaited<ReturnType<typeof packLayer>> | undefined
    const packGrowth = await peakRssGrowth(async () => {
      res = await packLayer({ upperDir: join(w, 'src'), mode: 'plain' }, (s) => pipeline(s, createWriteStream(blob)), { compression: 'gzip', level: 1 })
    })
    assert.ok(res !== undefined && res.uncompressedSize > SIZE)
    assert.equal(res.size, (await stat(blob)).size)
    // written straight to a file (the packing thread's way): stored members point into reused tar blocks
    let viaFile: typeof res | undefined
    const fileGrowth = await peakRssGrowth(async () => {
      const fd = openSync(join(w, 'layer.fd.tar.gz'), 'wx')
      try {
        viaFile = await packLayer({ upperDir: join(w, 'src'), mode: 'plain' }, { fd }, { compression: 'gzip', level: 1 })
      } finally {
        closeSync(fd)
      }
    })
    assert.deepEqual(viaFile, res)
    assert.ok(fileGrowth < LIMIT, `pack to a file: RSS grew by ${(fileGrowth / 2 ** 20).toFixed(1)} MiB`)
    await mkdir(join(w, 'dest'))
    let diffID = ''
    const applyGrowth = await peakRssGrowth(async () => {
      diffID = (await applyLayer(createReadStream(blob).compose(decompressStream()), join(w, 'dest'), { mode: 'plain' })).diffID
    })
    assert.equal(diffID, res.diffID)
    const h = createHash('sha256')
    await pipeline(createReadStream(join(w, 'dest/big.bin')), h)
    assert.equal(h.digest('hex'), fileHash)
    t.diagnostic(`peak RSS growth: pack ${(packGrowth / 2 ** 20).toFixed(1)} MiB, pack to a file ${(fileGrowth / 2 ** 20).toFixed(1)} MiB, apply ${(applyGrowth / 2 ** 20).toFixed(1)} MiB`)
    assert.ok(packGrowth < LIMIT, `pack RSS grew by ${(packGrowth / 2 ** 20).toFixed(1)} MiB`)
    assert.ok(applyGrowth < LIMIT, `apply RSS grew by ${(applyGrowth / 2 ** 20).toFixed(1)} MiB`)
  })
})

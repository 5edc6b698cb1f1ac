import assert from 'node:assert/strict'
import { createHash, randomBytes } from 'node:crypto'
import { closeSync, createReadStream, createWriteStream, openSync } from 'node:fs'
import { mkdir, readFile, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { Readable } from 'node:stream'
import { pipeline } from 'node:stream/promises'
import { after, before, describe, it } from 'node:test'
import { CairnError } from '../core/errors.ts'
import { applyLayer } from './apply.ts'
import { crc32 as zlibCrc32, gunzipSync, gzipSync, constants as zlibConstants } from 'node:zlib'
import { compressStream, decompressStream, detectCompression } from './compress.ts'
import { blockOptions, GzipMembers, type Member, storedMember } from './parallel-gzip.ts'
import { type Compression, compressionOfMediaType, layerMediaType } from './media-type.ts'
import { assertSameTree, cleanup, concatAll, isRoot, makeTree, run, tempDir } from './test-support.ts'
import { packLayer } from './write-layer.ts'

const hex = (b: Buffer): string => `sha256:${createHash('sha256').update(b).digest('hex')}`
const KINDS: Compression[] = ['gzip', 'zstd', 'uncompressed']
const crc32 = zlibCrc32 as (data: Uint8Array) => number

describe('compression', () => {
  const data = Buffer.concat([randomBytes(300_000), Buffer.alloc(2_000_000, 'abc'), randomBytes(1000)])
  for (const kind of KINDS) {
    it(`${kind}: round trip, autodetected, deterministic`, async () => {
      const z1 = await concatAll(Readable.from([data]).compose(compressStream(kind)))
      const z2 = await concatAll(Readable.from([data.subarray(0, 5), data.subarray(5)]).compose(compressStream(kind)))
      assert.deepEqual(z1, z2)
      assert.equal(detectCompression(z1), kind)
      assert.deepEqual(await concatAll(Readable.from([z1]).compose(decompressStream())), data)
      // one byte at a time through the detector still works
      const bytes = Array.from({ length: 16 }, (_, i) => z1.subarray(i, i + 1))
      assert.deepEqual(await concatAll(Readable.from([...bytes, z1.subarray(16)]).compose(decompressStream())), data)
    })
  }
  it('handles empty and tiny plain input', async () => {
    assert.equal((await concatAll(Readable.from([]).compose(decompressStream()))).length, 0)
    assert.equal((await concatAll(Readable.from([Buffer.from('ab')]).compose(decompressStream()))).toString(), 'ab')
  })
  it('fails on truncated gzip and zstd', async () => {
    for (const kind of ['gzip', 'zstd'] as const) {
      const z = await concatAll(Readable.from([data]).compose(compressStream(kind)))
      await assert.rejects(concatAll(Readable.from([z.subarray(0, z.length - 20)]).compose(decompressStream())), kind)
    }
  })
  it('is readable by gzip(1) and zstd(1)', async () => {
    const dir = await tempDir('cz')
    try {
      const z = await concatAll(Readable.from([data]).compose(compressStream('gzip', 1)))
      assert.equal(z.subarray(4, 8).readUInt32LE(), 0) // mtime 0 in the header
      assert.equal(z[9], 3) // OS unix
      await writeFile(join(dir, 'd.gz'), z)
      await writeFile(join(dir, 'd.zst'), await concatAll(Readable.from([data]).compose(compressStream('zstd'))))
      for (const [cmd, f] of [
        ['gzip', 'd.gz'],
        ['zstd', 'd.zst'],
      ]) {
        const { stdout } = await run('sh', ['-c', `${cmd} -dc ${join(dir, f)} | sha256sum`])
        assert.equal(`sha256:${stdout.split(' ')[0]}`, hex(data), cmd)
      }
      // identical bytes whatever the chunking, also across the 1 MiB gzip block boundary
      const bigger = Buffer.concat([data, data])
      const a = await concatAll(Readable.from([bigger]).compose(compressStream('gzip')))
      const parts = Array.from({ length: 200 }, (_, i) => bigger.subarray(i * 23456, (i + 1) * 23456))
      const b = await concatAll(Readable.from([...parts, bigger.subarray(200 * 23456)]).compose(compressStream('gzip')))
      assert.deepEqual(a, b)
    } finally {
      await cleanup(dir)
    }
  })
  it('chooses stored, run-length-only or full deflate per block, and gunzip(1) reads all three', async () => {
    const base64 = Buffer.from(randomBytes(800_000).toString('base64')).subarray(0, 1 << 20)
    const code = Buffer.from(Array.from({ length: 40_000 }, (_, i) => `export function f${i}(a, b) { return a + b * ${i % 97} }\n`).join('')).subarray(0, 1 << 20)
    const random = randomBytes(1 << 20)
    assert.deepEqual(blockOptions(random, 6), { level: 0 })
    assert.deepEqual(blockOptions(base64, 6), { level: 6, strategy: zlibConstants.Z_RLE })
    assert.deepEqual(blockOptions(code, 6), { level: 6 })
    const all = Buffer.concat([base64, code, random])
    const z = await concatAll(Readable.from([all]).compose(compressStream('gzip')))
    // run-length-only loses nothing on base64: about 6 bits per character, as full deflate gets
    const z64 = await concatAll(Readable.from([base64]).compose(compressStream('gzip')))
    assert.ok(z64.length < base64.length * 0.76, `${z64.length}`)
    const dir = await tempDir('cz3')
    try {
      await writeFile(join(dir, 'all.gz'), z)
      const { stdout } = await run('sh', ['-c', `gzip -dc ${join(dir, 'all.gz')} | sha256sum`])
      assert.equal(`sha256:${stdout.split(' ')[0]}`, hex(all))
    } finally {
      await cleanup(dir)
    }
  })
  it('makes stored members itself, byte for byte as zlib level 0 does, whole or as pieces pointing into the block', () => {
    for (const n of [0, 1, 65535, 65536, 131071, 200_000, 1 << 20]) {
      const block = randomBytes(n)
      // zlib's level 0 with an output buffer that holds the whole member, as the packer used to call it
      const zlibs = gzipSync(block, { level: 0, chunkSize: (1 << 20) + 65536 })
      const [whole] = storedMember(block, crc32, true)
      assert.deepEqual(whole, zlibs, `${n} bytes`)
      const pieces = storedMember(block, crc32, false)
      assert.deepEqual(Buffer.concat(pieces), zlibs)
      // the data pieces are views of the block, not copies
      if (n > 0) assert.equal(pieces[1]?.buffer, block.buffer)
      assert.deepEqual(gunzipSync(whole as Buffer), block)
    }
  })
  it('GzipMembers keeps input order and releases a block only when its member no longer needs it', async () => {
    const blocks = [randomBytes(1 << 20), Buffer.alloc(1 << 20, 'abc'), randomBytes(1000)]
    for (const inPlace of [false, true]) {
      const members = new GzipMembers(6, 2, { inPlace })
      const released: number[] = []
      const out: Member[] = []
      for (const [i, b] of blocks.entries()) out.push(...(await members.add(b, () => released.push(i))))
      out.push(...(await members.finish()))
      assert.equal(out.length, 3)
      // in place, the stored (random) members point into their blocks and are released by `done`
      assert.deepEqual(released.includes(0), !inPlace)
      for (const m of out) m.done?.()
      assert.deepEqual([...released].sort(), [0, 1, 2])
      assert.deepEqual(gunzipSync(Buffer.concat(out.flatMap((m) => m.pieces))), Buffer.concat(blocks))
    }
  })
  it('maps media types', () => {
    assert.equal(compressionOfMediaType('application/vnd.oci.image.layer.v1.tar+zstd'), 'zstd')
    assert.equal(compressionOfMediaType('application/vnd.docker.image.rootfs.diff.tar.gzip'), 'gzip')
    assert.equal(compressionOfMediaType('application/vnd.oci.image.layer.v1.tar'), 'uncompressed')
    assert.equal(layerMediaType('gzip'), 'application/vnd.oci.image.layer.v1.tar+gzip')
    assert.equal(layerMediaType('gzip', { docker: true }), 'application/vnd.docker.image.rootfs.diff.tar.gzip')
    assert.throws(() => compressionOfMediaType('application/json'), /not a layer media type/)
    assert.throws(() => compressStream('gzip', 12), /level/)
  })
})

describe('packLayer', { skip: !isRoot && 'needs root' }, () => {
  let w: string
  before(async () => {
    w = await tempDir('pack')
    await makeTree(join(w, 'src'))
  })
  after(() => cleanup(w))

  for (const kind of KINDS) {
    it(`${kind}: digest/size match the sink's bytes, diffID matches the decompressed tar`, async () => {
      const blob = join(w, `layer.${kind}`)
      let scanned = 0
      const res = await packLayer({ upperDir: join(w, 'src'), mode: 'plain' }, (s) => pipeline(s, createWriteStream(blob)), {
        compression: kind,
        onUncompressedChunk: (c) => {
          scanned += c.length
        },
      })
      const bytes = await readFile(blob)
      assert.equal(res.digest, hex(bytes))
      assert.equal(res.size, bytes.length)
      const { stdout } = await run('sha256sum', [blob])
      assert.equal(res.digest, `sha256:${stdout.split(' ')[0]}`)
      const tar = await concatAll(Readable.from([bytes]).compose(decompressStream()))
      assert.equal(res.diffID, hex(tar))
      assert.equal(res.uncompressedSize, tar.length)
      assert.equal(scanned, tar.length)
      assert.equal(res.mediaType, layerMediaType(kind))
      if (kind === 'uncompressed') assert.equal(res.diffID, res.digest)
      // the same bytes when written straight to a file (the packing thread's sink)
      const fd = openSync(join(w, `layer.fd.${kind}`), 'wx')
      const viaFile = await packLayer({ upperDir: join(w, 'src'), mode: 'plain' }, { fd }, { compression: kind }).finally(() => closeSync(fd))
      assert.deepEqual(viaFile, res)
      assert.deepEqual(await readFile(join(w, `layer.fd.${kind}`)), bytes)
      const dest = join(w, `out-${kind}`)
      await mkdir(dest)
      const applied = await applyLayer(createReadStream(blob).compose(decompressStream()), dest, { mode: 'plain' })
      assert.equal(applied.diffID, res.diffID)
      await assertSameTree(join(w, 'src'), dest)
    })
  }

  it('propagates sink failures and scanner failures', async () => {
    await assert.rejects(
      packLayer(
        { upperDir: join(w, 'src'), mode: 'plain' },
        async (s) => {
          s.resume()
          throw new CairnError('ERR_TEST', 'sink broke')
        },
        { compression: 'gzip' },
      ),
      /sink broke/,
    )
    await assert.rejects(
      packLayer({ upperDir: join(w, 'src'), mode: 'plain' }, (s) => pipeline(s, createWriteStream('/dev/null')), {
        compression: 'zstd',
        onUncompressedChunk: () => {
          throw new CairnError('ERR_TEST', 'secret found')
        },
      }),
      /secret found/,
    )
  })

  it('honours an abort signal', async () => {
    await writeFile(join(w, 'src/abort-big'), Buffer.alloc(8 * 1024 * 1024))
    const ac = new AbortController()
    const p = packLayer(
      { upperDir: join(w, 'src'), mode: 'plain' },
      async (s) => {
        for await (const _ of s) ac.abort()
      },
      { compression: 'uncompressed', signal: ac.signal },
    )
    await assert.rejects(p, { name: 'AbortError' })
  })
})

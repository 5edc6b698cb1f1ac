import assert from 'node:assert/strict'
import { createReadStream } from 'node:fs'
import { join } from 'node:path'
import { Readable } from 'node:stream'
import { after, before, describe, it } from 'node:test'
import { parseNumeric } from './tar-decode.ts'
import { BLOCK, encodeHeader, makeHeader, padding, parsePax, paxRecord } from './tar-header.ts'
import { readTar } from './tar-reader.ts'
import { encodeTar, tarStream } from './tar-writer.ts'
import { BIN_XATTR, cleanup, concatAll, isRoot, LONG_PATH, makeTree, run, tempDir } from './test-support.ts'

async function collect(
  input: Readable,
): Promise<{ name: string; type: string; size: number; body: Buffer; uid: number; gid: number; linkname: string; xattrs: Map<string, Buffer> }[]> {
  const out = []
  for await (const { header, body } of readTar(input)) {
    const parts: Buffer[] = []
    for await (const c of body) parts.push(c as Buffer)
    out.push({ ...header, body: Buffer.concat(parts) })
  }
  return out
}

describe('tar header encoding', () => {
  it('computes self-inclusive PAX record lengths across digit boundaries', () => {
    for (let n = 0; n < 1100; n++) {
      const rec = paxRecord('k', Buffer.alloc(n, 0x61))
      assert.equal(Number(rec.toString('latin1').split(' ')[0]), rec.length)
      assert.deepEqual(parsePax(rec, 't').get('k'), Buffer.alloc(n, 0x61))
    }
  })
  it('keeps binary values byte-exact', () => {
    assert.deepEqual(parsePax(paxRecord('SCHILY.xattr.user.bin', BIN_XATTR), 't').get('SCHILY.xattr.user.bin'), BIN_XATTR)
  })
  it('parses octal and base-256 numbers', () => {
    const b = Buffer.alloc(12)
    b.write('0000644 \0', 0, 'latin1')
    assert.equal(parseNumeric(b, 0, 8), 0o644)
    const big = Buffer.alloc(8)
    big[0] = 0x80
    big.writeUInt32BE(4000000000, 4)
    assert.equal(parseNumeric(big, 0, 8), 4000000000)
  })
  it('puts big ids, long names and long linknames into PAX, never clamping', async () => {
    const h = makeHeader({ name: `${'n'.repeat(300)}`, type: 'symlink', uid: 3000000, gid: 2 ** 32 - 2, linkname: 'l'.repeat(200) })
    const [back] = await collect(Readable.from([encodeHeader(h), Buffer.alloc(1024)]))
    assert.equal(back.name, h.name)
    assert.equal(back.linkname, h.linkname)
    assert.equal(back.uid, 3000000)
    assert.equal(back.gid, 2 ** 32 - 2)
  })
  it('refuses corrupt checksums', async () => {
    const hdr = encodeHeader(makeHeader({ name: 'a', type: 'file' }))
    hdr[0] = 0x62
    await assert.rejects(collect(Readable.from([hdr, Buffer.alloc(1024)])), /checksum/)
  })
  it('refuses truncated archives', async () => {
    const data = await concatAll(encodeTar([{ header: makeHeader({ name: 'f', type: 'file', size: 5000 }), body: Buffer.alloc(5000) }]))
    await assert.rejects(collect(Readable.from([data.subarray(0, 3000)])), /end of archive/)
  })
  it('round-trips through its own reader in tiny chunks, skipping unread bodies', async () => {
    const entries = [
      { header: makeHeader({ name: 'a', type: 'file', size: 1000 }), body: Buffer.alloc(1000, 1) },
      { header: makeHeader({ name: 'b/', type: 'directory', mode: 0o755 }) },
      { header: makeHeader({ name: 'b/c', type: 'file', size: 3 }), body: Buffer.from('xyz') },
    ]
    const bytes = await concatAll(encodeTar(entries))
    assert.equal(bytes.length % BLOCK, 0)
    const chunks = [] as Buffer[]
    for (let i = 0; i < bytes.length; i += 7) chunks.push(bytes.subarray(i, i + 7))
    const names = []
    for await (const { header, body } of readTar(Readable.from(chunks))) {
      names.push(header.name)
      if (header.name === 'b/c') assert.equal((await concatAll(body)).toString(), 'xyz')
    }
    assert.deepEqual(names, ['a', 'b/', 'b/c'])
    assert.equal(padding(1000).length, 24)
  })
  it('rejects a body that does not match its size', async () => {
    const gen = tarStream([{ header: makeHeader({ name: 'f', type: 'file', size: 10 }), body: Buffer.alloc(3) }])
    await assert.rejects(concatAll(gen), /produced 3 bytes/)
  })
})

describe('reading GNU tar archives', { skip: !isRoot && 'needs root' }, () => {
  let work: string
  before(async () => {
    work = await tempDir('codec')
    await makeTree(join(work, 'src'))
    await run('tar', ['--format=pax', '--xattrs', '--xattrs-include=*', '-cpf', join(work, 'pax.tar'), '-C', join(work, 'src'), '.'])
    await run('tar', ['--format=gnu', '-cpf', join(work, 'gnu.tar'), '-C', join(work, 'src'), '.'])
  })
  after(() => cleanup(work))

  for (const fmt of ['pax', 'gnu']) {
    it(`lists the same entries as GNU tar (${fmt})`, async () => {
      const ours = await collect(createReadStream(join(work, `${fmt}.tar`)))
      const { stdout } = await run('tar', ['-tf', join(work, `${fmt}.tar`)])
      assert.deepEqual(
        ours.map((e) => e.name),
        stdout.split('\n').filter((l) => l !== ''),
      )
      assert.ok(ours.some((e) => e.name === `./${LONG_PATH}` && e.body.toString() === 'long path\n'))
      assert.equal(ours.find((e) => e.name === './long-link')?.linkname, `${'t'.repeat(150)}/target`)
      const huge = ours.find((e) => e.name === './hugeids')
      assert.equal(huge?.uid, 5000000)
      assert.equal(huge?.gid, 4000000000)
      assert.equal(ours.find((e) => e.name === './big.bin')?.body.length, 3 * 1024 * 1024 + 17)
      if (fmt === 'pax') assert.deepEqual(ours.find((e) => e.name === './xattr-file')?.xattrs.get('user.bin'), BIN_XATTR)
    })
  }
})

import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { getEventListeners } from 'node:events'
import { writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { after, before, describe, it } from 'node:test'
import { tarBlocks } from './tar-blocks.ts'
import { makeHeader, type TarHeader } from './tar-header.ts'
import { encodeTar } from './tar-writer.ts'
import { BIN_XATTR, cleanup, concatAll, LONG_PATH, tempDir } from './test-support.ts'
import type { LayerEntry } from './walk.ts'

describe('tarBlocks', () => {
  let w: string
  const bodies = new Map<string, Buffer>()
  const entries: LayerEntry[] = []
  before(async () => {
    w = await tempDir('blocks')
    const file = async (name: string, body: Buffer, extra: Partial<TarHeader> = {}) => {
      const path = join(w, name.replace(/\//g, '_'))
      await writeFile(path, body)
      bodies.set(path, body)
      entries.push({ header: makeHeader({ name, type: 'file', size: body.length, ...extra }), file: path })
    }
    entries.push({ header: makeHeader({ name: 'dir/', type: 'directory', mode: 0o755 }) })
    await file('dir/empty', Buffer.alloc(0))
    await file('dir/one', Buffer.from('x'))
    await file('dir/block', randomBytes(512))
    await file('dir/odd', randomBytes(3000)) // crosses 1 KiB and 2 KiB block boundaries, padded
    await file(LONG_PATH, randomBytes(700)) // PAX header: longer than one tar block
    await file('dir/xattr', randomBytes(100), { xattrs: new Map([['user.bin', BIN_XATTR]]) })
    entries.push({ header: makeHeader({ name: 'dir/link', type: 'symlink', linkname: 'odd' }) })
    await file('dir/big', randomBytes(9000))
  })
  after(() => cleanup(w))

  /** The reference: the stream tar writer with each body read into memory. */
  const reference = () => concatAll(encodeTar(entries.map((e) => (e.file ? { header: e.header, body: bodies.get(e.file) as Buffer } : { header: e.header }))))

  for (const blockSize of [1024, 4096, 1024 * 1024]) {
    it(`lays out the same bytes as the stream writer in ${blockSize}-byte blocks, over reused dirty buffers`, async () => {
      const pool = [Buffer.alloc(blockSize, 0xaa), Buffer.alloc(blockSize, 0x55)]
      let next = 0
      const blocks: Buffer[] = []
      // a block is the caller's until it asks for the next one: copy it now, as the packer hashes it now
      for (const b of tarBlocks(entries, { blockSize, alloc: () => pool[next++ % 2] as Buffer })) blocks.push(Buffer.from(b))
      for (const b of blocks.slice(0, -1)) assert.equal(b.length, blockSize)
      assert.ok((blocks.at(-1) as Buffer).length <= blockSize)
      assert.deepEqual(Buffer.concat(blocks), await reference())
    })
  }

  it('fails naming the file when a body is shorter than its header says', async () => {
    const path = join(w, 'shrunk')
    await writeFile(path, Buffer.alloc(10))
    const bad = [{ header: makeHeader({ name: 'shrunk', type: 'file', size: 20 }), file: path }]
    assert.throws(() => [...tarBlocks(bad, { blockSize: 1024, alloc: () => Buffer.alloc(1024) })], {
      code: 'ERR_LAYER_SIZE_CHANGED',
      message: /"shrunk" produced 10 bytes, header says 20/,
    })
  })

  it('stops at an aborted signal', () => {
    const ac = new AbortController()
    ac.abort()
    assert.throws(() => [...tarBlocks(entries, { blockSize: 1024, alloc: () => Buffer.alloc(1024), signal: ac.signal })], { name: 'AbortError' })
  })

  it('stops at an abort that comes between blocks, and leaves no listener on the signal', () => {
    const ac = new AbortController()
    let seen = 0
    assert.throws(
      () => {
        for (const _ of tarBlocks(entries, { blockSize: 1024, alloc: () => Buffer.alloc(1024), signal: ac.signal })) if (++seen === 2) ac.abort()
      },
      { name: 'AbortError' },
    )
    assert.equal(seen, 2)
    assert.equal(getEventListeners(ac.signal, 'abort').length, 0)
    const done = new AbortController()
    for (const _ of tarBlocks(entries, { blockSize: 1024, alloc: () => Buffer.alloc(1024), signal: done.signal }))
      assert.equal(getEventListeners(done.signal, 'abort').length, 1)
    assert.equal(getEventListeners(done.signal, 'abort').length, 0, 'a finished layout lets go of the signal')
  })
})

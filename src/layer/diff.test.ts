import assert from 'node:assert/strict'
import { createHash } from 'node:crypto'
import { createWriteStream } from 'node:fs'
import { readFile, truncate, utimes, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { Writable } from 'node:stream'
import { after, before, describe, it } from 'node:test'
import { layerTarStream, writeDirTar, writeLayerTar } from './diff.ts'
import { readTar, type TarEntry } from './tar-reader.ts'
import { assertSameTree, BIN_XATTR, cleanup, isRoot, LONG_PATH, makeTree, run, tempDir } from './test-support.ts'

async function shaOfLayer(dir: string, mtime?: number): Promise<string> {
  const h = createHash('sha256')
  await writeLayerTar(
    dir,
    new Writable({
      write: (c, _e, cb) => {
        h.update(c)
        cb()
      },
    }),
    mtime === undefined ? { mode: 'plain' } : { mode: 'plain', mtime },
  )
  return h.digest('hex')
}

describe('writeLayerTar (plain dir)', { skip: !isRoot && 'needs root (chown to big ids)' }, () => {
  let work: string
  before(async () => {
    work = await tempDir('diff')
    await makeTree(join(work, 'src'))
    await writeDirTar(join(work, 'src'), createWriteStream(join(work, 'layer.tar')), { mtime: 1700000000 })
  })
  after(() => cleanup(work))

  it('GNU tar extracts an identical tree', async () => {
    await run('mkdir', [join(work, 'gnu')])
    await run('tar', ['--xattrs', '--xattrs-include=*', '--numeric-owner', '-xpf', join(work, 'layer.tar'), '-C', join(work, 'gnu')])
    await assertSameTree(join(work, 'src'), join(work, 'gnu'))
    const { stdout } = await run('getfattr', ['-e', 'hex', '-n', 'user.bin', join(work, 'gnu/xattr-file')])
    assert.match(stdout, new RegExp(`user.bin=0x${BIN_XATTR.toString('hex')}`))
  })

  it('writes names without ./, dirs with /, fixed mtime, empty uname, hardlinks as type 1', async () => {
    const entries = []
    for await (const { header, body } of readTar(layerTarStream(join(work, 'src'), { mode: 'plain', mtime: 42 }))) {
      body.resume()
      entries.push(header)
    }
    const names = entries.map((e) => e.name)
    assert.ok(names.includes('etc/'))
    assert.ok(names.includes('etc/passwd'))
    assert.ok(names.includes(LONG_PATH))
    assert.ok(names.every((n) => !n.startsWith('./') && !n.startsWith('/')))
    assert.ok(names.indexOf('etc/') < names.indexOf('etc/empty'))
    for (const e of entries) {
      assert.equal(e.mtime, 42)
      assert.equal(e.uname, '')
      assert.equal(e.gname, '')
    }
    const hard = entries.find((e) => e.name === 'etc/passwd.hard')
    assert.equal(hard?.type, 'link')
    assert.equal(hard?.linkname, 'etc/passwd')
    const big = entries.find((e) => e.name === 'bigids')
    assert.equal(big?.uid, 300000)
    assert.equal(big?.gid, 700000)
    assert.equal(entries.find((e) => e.name === 'suid')?.mode, 0o4755)
    assert.deepEqual(entries.find((e) => e.name === 'xattr-file')?.xattrs.get('user.bin'), BIN_XATTR)
    assert.equal(entries.find((e) => e.name === 'fifo')?.type, 'fifo')
  })

  it('is deterministic, also after touching files', async () => {
    const a = await shaOfLayer(join(work, 'src'))
    await utimes(join(work, 'src/etc/passwd'), new Date(), new Date(2001, 1, 1))
    await utimes(join(work, 'src/etc'), new Date(), new Date())
    const b = await shaOfLayer(join(work, 'src'))
    assert.equal(a, b)
    assert.equal(
      createHash('sha256')
        .update(await readFile(join(work, 'layer.tar')))
        .digest('hex'),
      await shaOfLayer(join(work, 'src'), 1700000000),
    )
  })

  it('honours exclude (a dir excludes its subtree)', async () => {
    const names: string[] = []
    const exclude = (p: string): boolean => p === 'etc' || p === 'big.bin'
    for await (const { header } of readTar(layerTarStream(join(work, 'src'), { mode: 'plain', exclude }))) names.push(header.name)
    assert.ok(!names.some((n) => n.startsWith('etc') || n === 'big.bin'))
    assert.ok(names.includes('suid'))
  })

  it('fails when a file changes size while packing', async () => {
    const dir = join(work, 'shrink')
    await run('mkdir', [dir])
    await writeFile(join(dir, 'f'), Buffer.alloc(16 * 1024 * 1024))
    const tar = layerTarStream(dir, { mode: 'plain' })
    const it = readTar(tar)[Symbol.asyncIterator]()
    const first = await it.next()
    assert.equal(first.done, false)
    await truncate(join(dir, 'f'), 5)
    await assert.rejects(async () => {
      let r: IteratorResult<TarEntry> = first
      while (r.done !== true) {
        for await (const _ of r.value.body) {
        }
        r = await it.next()
      }
    }, /header says 16777216/)
  })
})

import assert from 'node:assert/strict'
import { createHash } from 'node:crypto'
import { createReadStream } from 'node:fs'
import { lstat, mkdir, readFile, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { after, before, describe, it } from 'node:test'
import { getAttributeSync } from '@napi-rs/xattr'
import { applyLayer } from './apply.ts'
import { layerTarStream, writeLayerTar } from './diff.ts'
import { makeHeader } from './tar-header.ts'
import { tarStream } from './tar-writer.ts'
import { assertSameTree, cleanup, describeTree, isRoot, makeTree, run, tempDir } from './test-support.ts'

const sha = async (p: string): Promise<string> =>
  `sha256:${createHash('sha256')
    .update(await readFile(p))
    .digest('hex')}`

describe('applyLayer', { skip: !isRoot && 'needs root (chown, mknod)' }, () => {
  let work: string
  before(async () => {
    work = await tempDir('apply')
    await makeTree(join(work, 'src'))
    await run('tar', ['--format=pax', '--xattrs', '--xattrs-include=*', '-cpf', join(work, 'pax.tar'), '-C', join(work, 'src'), '.'])
    await run('tar', ['--format=gnu', '-cpf', join(work, 'gnu.tar'), '-C', join(work, 'src'), '.'])
    await writeLayerTar(join(work, 'src'), (await import('node:fs')).createWriteStream(join(work, 'ours.tar')), { mode: 'plain' })
  })
  after(() => cleanup(work))

  for (const name of ['pax', 'ours']) {
    it(`reproduces the tree from ${name}.tar (modes, ids, xattrs, links, fifo) and reports the diffID`, async () => {
      const dest = join(work, `out-${name}`)
      await mkdir(dest)
      const res = await applyLayer(createReadStream(join(work, `${name}.tar`)), dest, { mode: 'plain' })
      assert.equal(res.diffID, await sha(join(work, `${name}.tar`)))
      assert.equal(res.size, (await lstat(join(work, `${name}.tar`))).size)
      await assertSameTree(join(work, 'src'), dest)
      assert.equal((await lstat(join(dest, 'etc/passwd'))).ino, (await lstat(join(dest, 'etc/passwd.hard'))).ino)
      if (name === 'pax') {
        // GNU tar keeps real mtimes: they must be restored (dirs too, after their children)
        const [a, b] = [await describeTree(join(work, 'src'), { mtime: true }), await describeTree(dest, { mtime: true })]
        for (const [k, v] of a) assert.equal(b.get(k)?.mtime, v.mtime, k)
      }
    })
  }

  it('applies a gnu-format archive (no xattrs in that format)', async () => {
    const dest = join(work, 'out-gnu')
    await mkdir(dest)
    await applyLayer(createReadStream(join(work, 'gnu.tar')), dest, { mode: 'plain' })
    const [a, b] = [await describeTree(join(work, 'src')), await describeTree(dest)]
    for (const [k, v] of a) assert.deepEqual({ ...b.get(k), xattrs: {} }, { ...v, xattrs: {} }, k)
  })

  it('plain mode: whiteouts delete, opaque markers empty the dir of older content', async () => {
    const dest = join(work, 'flat')
    await mkdir(join(dest, 'keep'), { recursive: true })
    await mkdir(join(dest, 'opq/sub'), { recursive: true })
    await writeFile(join(dest, 'gone'), 'x')
    await writeFile(join(dest, 'opq/old'), 'x')
    await writeFile(join(dest, 'opq/sub/old'), 'x')
    const layer = tarStream([
      { header: makeHeader({ name: '.wh.gone', type: 'file', mode: 0 }) },
      { header: makeHeader({ name: 'opq/', type: 'directory', mode: 0o750 }) },
      { header: makeHeader({ name: 'opq/#new', type: 'file', size: 1 }), body: Buffer.from('n') },
      { header: makeHeader({ name: 'opq/.wh..wh..opq', type: 'file', mode: 0 }) },
      { header: makeHeader({ name: 'opq/zz', type: 'file', size: 1 }), body: Buffer.from('z') },
    ])
    await applyLayer(layer, dest, { mode: 'plain' })
    assert.deepEqual([...(await describeTree(dest)).keys()], ['keep', 'opq', 'opq/#new', 'opq/zz'])
    assert.equal((await lstat(join(dest, 'opq'))).mode & 0o777, 0o750)
  })

  it('overlay mode: whiteouts become 0:0 char devices, opaque sets trusted.overlay.opaque', async () => {
    const dest = join(work, 'ovl')
    await mkdir(dest)
    const layer = tarStream([
      { header: makeHeader({ name: 'a/', type: 'directory', mode: 0o755 }) },
      { header: makeHeader({ name: 'a/.wh..wh..opq', type: 'file', mode: 0 }) },
      { header: makeHeader({ name: 'a/.wh.x', type: 'file', mode: 0 }) },
      { header: makeHeader({ name: '.wh.y', type: 'file', mode: 0 }) },
      { header: makeHeader({ name: 'dev/null', type: 'character-device', mode: 0o666, devmajor: 1, devminor: 3 }) },
    ])
    await applyLayer(layer, dest, { mode: 'overlay' })
    for (const p of ['a/x', 'y']) {
      const st = await lstat(join(dest, p))
      assert.ok(st.isCharacterDevice() && st.rdev === 0, p)
    }
    assert.equal(getAttributeSync(join(dest, 'a'), 'trusted.overlay.opaque')?.toString(), 'y')
    const dn = await lstat(join(dest, 'dev/null'))
    assert.ok(dn.isCharacterDevice() && dn.rdev === 0x103 && (dn.mode & 0o777) === 0o666)
    assert.deepEqual((await describeTree(dest)).size, 5) // no template left behind
  })

  it('re-packing an applied layer gives the same bytes', async () => {
    const dest = join(work, 'again')
    await mkdir(dest)
    await applyLayer(createReadStream(join(work, 'ours.tar')), dest, { mode: 'plain' })
    const h = createHash('sha256')
    for await (const c of layerTarStream(dest, { mode: 'plain' })) h.update(c as Buffer)
    assert.equal(`sha256:${h.digest('hex')}`, await sha(join(work, 'ours.tar')))
  })
})

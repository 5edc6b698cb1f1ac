import assert from 'node:assert/strict'
import { createReadStream, createWriteStream } from 'node:fs'
import { chmod, link, mkdir, rm, unlink, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { after, before, describe, it } from 'node:test'
import { getAttributeSync } from '@napi-rs/xattr'
import { applyLayer } from './apply.ts'
import { writeLayerTar } from './diff.ts'
import { readTar } from './tar-reader.ts'
import { cleanup, describeTree, isRoot, run, tempDir } from './test-support.ts'

async function mountOverlay(target: string, opts: string): Promise<void> {
  await run('mount', ['-t', 'overlay', 'overlay', '-o', opts, target])
}

describe('overlay upper dir → layer → overlay lowerdir', { skip: !isRoot && 'needs root (mount -t overlay)' }, () => {
  let w: string
  const mounted: string[] = []
  before(async () => {
    w = await tempDir('ovl')
    for (const d of ['L/keep', 'L/dir/sub', 'L/other', 'U', 'W', 'M', 'U2', 'M2']) await mkdir(join(w, d), { recursive: true })
    await writeFile(join(w, 'L/x'), 'lower x')
    await writeFile(join(w, 'L/y'), 'lower y')
    await writeFile(join(w, 'L/keep/k'), 'k')
    await writeFile(join(w, 'L/dir/old'), 'old')
    await writeFile(join(w, 'L/dir/sub/deep'), 'deep')
    await writeFile(join(w, 'L/other/o1'), 'o1')
  })
  after(async () => {
    for (const m of mounted.reverse()) await run('umount', [m]).catch(() => undefined)
    await cleanup(w)
  })

  it('packs whiteouts and opaque dirs and reproduces the merged view when applied', async () => {
    const M = join(w, 'M')
    await mountOverlay(M, `lowerdir=${join(w, 'L')},upperdir=${join(w, 'U')},workdir=${join(w, 'W')}`)
    mounted.push(M)
    let before: Awaited<ReturnType<typeof describeTree>>
    try {
      await unlink(join(M, 'x'))
      await unlink(join(M, 'y'))
      await unlink(join(M, 'other/o1'))
      await rm(join(M, 'dir'), { recursive: true })
      await mkdir(join(M, 'dir'))
      await writeFile(join(M, 'dir/new'), 'new')
      await writeFile(join(M, 'added'), 'added')
      await link(join(M, 'added'), join(M, 'added.hard'))
      await chmod(join(M, 'keep/k'), 0o600)
      before = await describeTree(M)
    } finally {
      await run('umount', [M])
      mounted.pop()
    }
    const tarPath = join(w, 'layer.tar')
    await writeLayerTar(join(w, 'U'), createWriteStream(tarPath))
    const names: string[] = []
    for await (const { header } of readTar(createReadStream(tarPath)))
      names.push(`${header.type}:${header.name}${header.linkname === '' ? '' : `->${header.linkname}`}`)
    for (const n of ['file:.wh.x', 'file:.wh.y', 'file:other/.wh.o1', 'directory:dir/', 'file:dir/.wh..wh..opq', 'file:dir/new', 'link:added.hard->added']) {
      assert.ok(names.includes(n), `${n} in ${names.join(', ')}`)
    }
    assert.equal(names.indexOf('file:dir/.wh..wh..opq'), names.indexOf('directory:dir/') + 1)
    assert.ok(!names.some((n) => n.includes('.overlay')))

    const U2 = join(w, 'U2')
    await applyLayer(createReadStream(tarPath), U2, { mode: 'overlay' })
    assert.equal(getAttributeSync(join(U2, 'dir'), 'trusted.overlay.opaque')?.toString(), 'y')
    const M2 = join(w, 'M2')
    await mountOverlay(M2, `lowerdir=${U2}:${join(w, 'L')}`)
    mounted.push(M2)
    try {
      const afterView = await describeTree(M2)
      assert.deepEqual([...afterView.keys()], [...before.keys()])
      for (const [k, v] of before) assert.deepEqual(afterView.get(k), v, k)
    } finally {
      await run('umount', [M2])
      mounted.pop()
    }
  })
})

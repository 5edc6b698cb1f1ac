import assert from 'node:assert/strict'
import { mkdir, readdir, symlink, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { after, before, describe, it } from 'node:test'
import { applyLayer } from './apply.ts'
import { normalizeEntryPath } from './safe-path.ts'
import { makeHeader, type TarHeader } from './tar-header.ts'
import { type TarSourceEntry, tarStream } from './tar-writer.ts'
import { cleanup, isRoot, tempDir } from './test-support.ts'

const file = (name: string, body = 'evil'): TarSourceEntry => ({ header: makeHeader({ name, type: 'file', size: body.length }), body: Buffer.from(body) })
const entry = (h: Pick<TarHeader, 'name' | 'type'> & Partial<TarHeader>): TarSourceEntry => ({ header: makeHeader(h) })

describe('applyLayer refuses to write outside destDir', { skip: !isRoot && 'needs root' }, () => {
  let work: string
  let n = 0
  before(async () => {
    work = await tempDir('sec')
  })
  after(() => cleanup(work))

  const cases: [string, TarSourceEntry[], string][] = [
    ['../x', [file('../x')], '../x'],
    ['/abs', [file('/abs')], '/abs'],
    ['a/../../x', [entry({ name: 'a/', type: 'directory' }), file('a/../../x')], 'a/../../x'],
    ['symlink then through it', [entry({ name: 'a', type: 'symlink', linkname: '__OUTSIDE__' }), file('a/evil')], 'a/evil'],
    ['relative symlink then through it', [entry({ name: 'b', type: 'symlink', linkname: '../outside' }), file('b/evil')], 'b/evil'],
    ['hardlink to ../outside', [entry({ name: 'h', type: 'link', linkname: '../outside/victim' })], 'h'],
    ['hardlink to something not in the layer', [entry({ name: 'h', type: 'link', linkname: 'etc/shadow' })], 'h'],
    ['whiteout escaping', [file('sub/.wh...', '')], 'sub/.wh...'],
    ['dir through symlink', [entry({ name: 'l', type: 'symlink', linkname: '/' }), entry({ name: 'l/etc/', type: 'directory' })], 'l/etc/'],
    ['whiteout through symlink', [entry({ name: 'l', type: 'symlink', linkname: '__OUTSIDE__' }), file('l/.wh.victim', '')], 'l/.wh.victim'],
    ['opaque through symlink', [entry({ name: 'l', type: 'symlink', linkname: '__OUTSIDE__' }), file('l/.wh..wh..opq', '')], 'l/.wh..wh..opq'],
  ]
  for (const [title, entries, bad] of cases) {
    for (const mode of ['plain', 'overlay'] as const) {
      it(`${title} (${mode})`, async () => {
        const base = join(work, `c${n++}`)
        const outside = join(base, 'outside')
        const dest = join(base, 'dest')
        await mkdir(outside, { recursive: true })
        await mkdir(dest)
        await writeFile(join(outside, 'victim'), 'keep')
        const fixed = entries.map((e) => ({ ...e, header: { ...e.header, linkname: e.header.linkname.replace('__OUTSIDE__', outside) } }))
        await assert.rejects(applyLayer(tarStream(fixed), dest, { mode }), (err: Error & { code?: string }) => {
          assert.equal(err.name, 'FailedPreconditionError')
          assert.ok(err.message.includes(JSON.stringify(bad)), err.message)
          return true
        })
        assert.deepEqual((await readdir(outside)).sort(), ['victim'])
        assert.deepEqual((await readdir(base)).sort(), ['dest', 'outside'])
      })
    }
  }

  it('a pre-existing symlink in destDir is not followed', async () => {
    const base = join(work, 'pre')
    await mkdir(join(base, 'outside'), { recursive: true })
    await mkdir(join(base, 'dest'))
    await symlink(join(base, 'outside'), join(base, 'dest/usr'))
    await assert.rejects(applyLayer(tarStream([file('usr/bin/evil')]), join(base, 'dest'), { mode: 'plain' }), /usr\/bin\/evil/)
    assert.deepEqual(await readdir(join(base, 'outside')), [])
  })

  it('normalises harmless names', () => {
    assert.equal(normalizeEntryPath('./etc/passwd'), 'etc/passwd')
    assert.equal(normalizeEntryPath('etc//x/../y/'), 'etc/y')
    assert.equal(normalizeEntryPath('./'), '')
  })
})

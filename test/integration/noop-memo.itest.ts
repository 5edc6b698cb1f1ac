/**
 * The no-op memo end to end (src/cli/replay.ts): an unchanged rebuild is answered without building,
 * and every input the memo depends on, once changed, makes cairn build again.
 */
import assert from 'node:assert/strict'
import { readdir, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import { after, before, describe, it } from 'node:test'
import { buildBaseImage, cairn, missingPrerequisite, readJSON, removeTree, run, tempDir, writeTree } from '../helpers/cairn.ts'
import { RACY_MS } from '../../src/cli/replay.ts'

const skip = await missingPrerequisite(['runc'])

interface Meta {
  'containerimage.digest': string
  'cairn.noop'?: boolean
  'cairn.steps': { name: string; cached: boolean }[]
}

describe('no-op memo', { skip }, () => {
  let root: string
  let ctx: string
  let work: string
  let n = 0
  before(async () => {
    root = await tempDir('memo-root')
    ctx = await tempDir('memo-ctx')
    work = await tempDir('memo-work')
    await buildBaseImage(root)
    await writeTree(ctx, {
      Dockerfile: 'FROM test/base:1\nCOPY src /src\nRUN cat /src/*.txt > /all && date +%s%N > /ran\n',
      'src/a.txt': 'alpha\n',
      'src/b.txt': 'beta\n',
    })
  })
  after(async () => {
    for (const d of [root, ctx, work]) if (d) await removeTree(d)
  })

  /** One build; its metadata and progress. */
  const build = async (...extra: string[]) => {
    const meta = join(work, `meta-${++n}.json`)
    const r = await cairn(root, ['build', '--progress=plain', '-t', 'memo/app', '--metadata-file', meta, ...extra, ctx])
    assert.equal(r.code, 0, r.stderr)
    return { meta: await readJSON<Meta>(meta), stderr: r.stderr }
  }
  /** Lets the context age past the racy window, so that the next build can be recorded. */
  const settle = () => sleep(RACY_MS + 200)

  it('answers an unchanged rebuild from the memo, with the same image and all steps cached', async () => {
    await settle()
    const first = await build()
    assert.equal(first.meta['cairn.noop'], undefined)
    const again = await build()
    assert.equal(again.meta['cairn.noop'], true)
    assert.equal(again.meta['containerimage.digest'], first.meta['containerimage.digest'])
    assert.deepEqual(
      again.meta['cairn.steps'].map((s) => [s.name, s.cached]),
      first.meta['cairn.steps'].map((s) => [s.name, true]),
    )
    for (const s of first.meta['cairn.steps']) assert.match(again.stderr, new RegExp(`#\\d+ ${s.name.replace(/[[\]/.*+?()$^|]/g, '\\$&')}\\n#\\d+ CACHED`))
    assert.match(again.stderr, /exporting to image\n#\d+ DONE/)
    assert.equal((await readdir(join(root, 'memo', 'noop'))).length, 1)
  })

  it('builds again when a context file changes, and then only what depends on it runs', async () => {
    await writeFile(join(ctx, 'src', 'b.txt'), 'BETA\n')
    const changed = await build()
    assert.equal(changed.meta['cairn.noop'], undefined)
    const ran = changed.meta['cairn.steps'].filter((s) => !s.cached).map((s) => s.name)
    assert.deepEqual(ran, ['[stage-0 2/3] COPY src /src', '[stage-0 3/3] RUN cat /src/*.txt > /all && date +%s%N > /ran'])
    // the change was racy (made just before the build): not recorded, so the next build builds (all cached)
    const next = await build()
    assert.equal(next.meta['cairn.noop'], undefined)
    assert.ok(next.meta['cairn.steps'].every((s) => s.cached))
    await settle()
    await build()
    assert.equal((await build()).meta['cairn.noop'], true)
  })

  it('builds again when the base image is rebuilt, the output tag moves, or the flags differ', async () => {
    await settle()
    await build()
    assert.equal((await build()).meta['cairn.noop'], true)
    // the base image tag now names another image
    const base2 = await tempDir('memo-base2')
    await writeTree(base2, { Dockerfile: 'FROM test/base:1\nRUN echo v2 > /base-version\n' })
    assert.equal((await cairn(root, ['build', '-t', 'test/base:1', base2])).code, 0)
    await removeTree(base2)
    const rebased = await build()
    assert.equal(rebased.meta['cairn.noop'], undefined)
    assert.ok(rebased.meta['cairn.steps'].some((s) => !s.cached))
    // the output tag is taken by another image
    assert.equal((await build()).meta['cairn.noop'], true)
    const other = await tempDir('memo-other')
    await writeTree(other, { Dockerfile: 'FROM test/base:1\nCMD ["other"]\n' })
    assert.equal((await cairn(root, ['build', '-t', 'memo/app', other])).code, 0)
    await removeTree(other)
    const retagged = await build()
    assert.equal(retagged.meta['cairn.noop'], undefined)
    assert.ok(retagged.meta['cairn.steps'].every((s) => s.cached))
    const inspect = await run('cat', [join(root, 'images', 'index.json')])
    assert.match(inspect.stdout, new RegExp(retagged.meta['containerimage.digest']))
    // another build-arg, or a cache export: never answered from the memo
    assert.equal((await build('--build-arg', 'X=1')).meta['cairn.noop'], undefined)
    assert.equal((await build('--cache-to', `type=local,dest=${join(work, 'cache')}`)).meta['cairn.noop'], undefined)
    assert.equal((await build('--cache-to', `type=local,dest=${join(work, 'cache')}`)).meta['cairn.noop'], undefined)
  })
})

import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, describe, it } from 'node:test'
import { acquireLock } from './lock.ts'
import { createCacheMountStore } from './store.ts'

const signal = new AbortController().signal

describe('cache-mount store', () => {
  let root: string
  before(async () => {
    root = await mkdtemp(join(tmpdir(), 'cairn-cachemounts-'))
  })
  after(() => rm(root, { recursive: true, force: true }))

  it('shared: one directory per id that persists across stores', async () => {
    const a = await createCacheMountStore(root).acquire({ id: '//root/.cache', sharing: 'shared' }, signal)
    assert.equal(a.created, true)
    await writeFile(join(a.dir, 'f'), 'x')
    await a.release()
    const b = await createCacheMountStore(root).acquire({ id: '//root/.cache', sharing: 'shared' }, signal)
    assert.equal(b.created, false)
    assert.equal(b.dir, a.dir)
    assert.equal(await readFile(join(b.dir, 'f'), 'utf8'), 'x')
    const other = await createCacheMountStore(root).acquire({ id: '/other', sharing: 'shared' }, signal)
    assert.notEqual(other.dir, a.dir)
    assert.deepEqual((await createCacheMountStore(root).list()).map((e) => e.id).sort(), ['//root/.cache', '/other'])
  })

  it('init seeds a new directory only', async () => {
    const s = createCacheMountStore(root)
    const a = await s.acquire({ id: '/seeded', sharing: 'shared', init: async (d) => writeFile(join(d, 'seed'), '1') }, signal)
    assert.equal(await readFile(join(a.dir, 'seed'), 'utf8'), '1')
    let called = false
    await s.acquire(
      {
        id: '/seeded',
        sharing: 'shared',
        init: async () => {
          called = true
        },
      },
      signal,
    )
    assert.equal(called, false)
  })

  it('private: concurrent users get different instances; a freed one is reused', async () => {
    const s = createCacheMountStore(root)
    const a = await s.acquire({ id: '/p', sharing: 'private' }, signal)
    const b = await s.acquire({ id: '/p', sharing: 'private' }, signal)
    assert.notEqual(a.dir, b.dir)
    await a.release()
    const c = await s.acquire({ id: '/p', sharing: 'private' }, signal)
    assert.equal(c.dir, a.dir)
    await b.release()
    await c.release()
  })

  it('locked: one user at a time within a process', async () => {
    const s = createCacheMountStore(root)
    const a = await s.acquire({ id: '/l', sharing: 'locked' }, signal)
    let second = false
    const p = s.acquire({ id: '/l', sharing: 'locked' }, signal).then((l) => {
      second = true
      return l
    })
    await new Promise((r) => setTimeout(r, 100))
    assert.equal(second, false, 'the second user waits')
    await a.release()
    const b = await p
    assert.equal(b.dir, a.dir)
    await b.release()
  })

  it("locked: waits for another process, and breaks a dead owner's lock", async () => {
    const lockPath = join(root, 'x.lock')
    const child = spawn(process.execPath, [
      '-e',
      `require('fs').writeFileSync(${JSON.stringify(lockPath)}, String(process.pid)); setTimeout(() => { require('fs').unlinkSync(${JSON.stringify(lockPath)}) }, 400)`,
    ])
    const closed = new Promise((r) => child.on('close', r))
    await new Promise((r) => setTimeout(r, 150))
    assert.ok(await stat(lockPath))
    const t0 = Date.now()
    const l = await acquireLock(lockPath, signal)
    assert.ok(Date.now() - t0 >= 150, 'waited for the other process')
    await l?.release()
    await closed
    // a lock file left by a dead process does not block
    await writeFile(lockPath, '999999')
    const l2 = await acquireLock(lockPath, signal)
    assert.ok(l2)
    await l2.release()
    const ac = new AbortController()
    await writeFile(lockPath, String(process.ppid))
    const waiting = acquireLock(lockPath, ac.signal)
    ac.abort(new Error('stop'))
    await assert.rejects(waiting, /stop/)
    await rm(lockPath, { force: true })
  })
})

import assert from 'node:assert/strict'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { readFile, stat, utimes, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import { after, describe, it } from 'node:test'
import { createOverlaySnapshotter } from './overlay-snapshotter.ts'

const tmp = mkdtempSync(join(tmpdir(), 'cairn-snap-'))
after(() => rmSync(tmp, { recursive: true, force: true }))
const boot = readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim()

describe('overlay snapshotter: durability of volatile snapshots', () => {
  it('mounts active snapshots volatile (no whole-filesystem sync on unmount)', async () => {
    const s = createOverlaySnapshotter(join(tmp, 'a'))
    const { mounts } = await s.prepare([])
    assert.ok(mounts[0]?.options?.includes('volatile'))
  })

  it('trusts a snapshot committed in this boot, or in an earlier one before a completed sync', async () => {
    const root = join(tmp, 'b')
    const s = createOverlaySnapshotter(root)
    await s.create('one')
    await s.commit('one')
    assert.equal(await s.exists('one'), true)
    assert.match(await readFile(join(root, 'one', 'committed'), 'utf8'), new RegExp(`^${boot} \\d+\\n$`))
    assert.equal(await s.exists('missing'), false)
    // committed in a boot that ended before any sync of it: its data may never have reached the disk
    await s.create('old')
    await writeFile(join(root, 'old', 'committed'), 'earlier-boot 5000\n')
    await s.create('legacy')
    await writeFile(join(root, 'legacy', 'committed'), '')
    assert.equal(await createOverlaySnapshotter(root).exists('old'), false)
    assert.equal(await createOverlaySnapshotter(root).exists('legacy'), true, 'markers from before volatile mounts were synced by their unmount')
    await writeFile(join(root, 'synced-earlier-boot'), '')
    await utimes(join(root, 'synced-earlier-boot'), 4, 4)
    await writeFile(join(root, 'synced-other'), '')
    await utimes(join(root, 'synced-other'), 9, 9)
    assert.equal(await createOverlaySnapshotter(root).exists('old'), false, 'synced before it was committed')
    await utimes(join(root, 'synced-earlier-boot'), 6, 6)
    assert.equal(await createOverlaySnapshotter(root).exists('old'), true, 'a sync that started after its commit completed')
  })

  it('flush() records a completed sync of this boot, only when something was committed', async () => {
    const root = join(tmp, 'c')
    const s = createOverlaySnapshotter(root)
    await s.create('x')
    s.flush?.()
    await sleep(300)
    const stamp = join(root, `synced-${boot}`)
    await assert.rejects(stat(stamp), 'nothing committed: no sync')
    const before = Date.now()
    await s.commit('x')
    s.flush?.()
    let mtime = 0
    for (let i = 0; i < 100 && mtime < before - 1; i++) {
      await sleep(100)
      mtime = (await stat(stamp).catch(() => undefined))?.mtimeMs ?? 0
    }
    assert.ok(mtime >= before - 1, `synced up to ${mtime}, flushed at ${before}`)
  })
})

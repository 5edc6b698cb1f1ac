import assert from 'node:assert/strict'
import { getEventListeners } from 'node:events'
import { mkdir, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { after, before, describe, it } from 'node:test'
import { cleanup, tempDir } from './test-support.ts'
import { walkLayerEntries } from './walk.ts'

describe('walkLayerEntries and its abort signal', () => {
  let w: string
  before(async () => {
    w = await tempDir('walk')
    await mkdir(join(w, 'd'))
    for (const n of ['a', 'b', 'c']) await writeFile(join(w, 'd', n), n)
  })
  after(() => cleanup(w))

  const names = (signal?: AbortSignal) => [...walkLayerEntries(w, { mode: 'plain', ...(signal ? { signal } : {}) })].map((e) => e.header.name)

  it('walks in order, and lets go of the signal when done', () => {
    const ac = new AbortController()
    assert.deepEqual(names(ac.signal), ['d/', 'd/a', 'd/b', 'd/c'])
    assert.equal(getEventListeners(ac.signal, 'abort').length, 0)
  })

  it('stops with the reason at an abort that comes during the walk', () => {
    const ac = new AbortController()
    const seen: string[] = []
    assert.throws(
      () => {
        for (const e of walkLayerEntries(w, { mode: 'plain', signal: ac.signal })) {
          seen.push(e.header.name)
          if (seen.length === 2) ac.abort()
        }
      },
      { name: 'AbortError' },
    )
    assert.deepEqual(seen, ['d/', 'd/a'])
    assert.equal(getEventListeners(ac.signal, 'abort').length, 0)
  })

  it('lets go of the signal when its consumer stops early', () => {
    const ac = new AbortController()
    for (const _ of walkLayerEntries(w, { mode: 'plain', signal: ac.signal })) break
    assert.equal(getEventListeners(ac.signal, 'abort').length, 0)
  })
})

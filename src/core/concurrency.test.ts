import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { setImmediate as tick } from 'node:timers/promises'
import { mapLimit, semaphore } from './concurrency.ts'

/** A task that records how many of its kind run at once and finishes when `release` is called. */
function gated() {
  let active = 0
  let peak = 0
  const started: number[] = []
  const releases = new Map<number, () => void>()
  const task =
    (i: number, fail = false) =>
    async (): Promise<number> => {
      active++
      peak = Math.max(peak, active)
      started.push(i)
      await new Promise<void>((resolve) => releases.set(i, resolve))
      active--
      if (fail) throw new Error(`task ${i} failed`)
      return i
    }
  return { task, started, release: (i: number) => releases.get(i)?.(), peak: () => peak }
}

describe('semaphore', () => {
  it('runs at most `limit` calls at once, the waiting ones in call order, each with its own result', async () => {
    const g = gated()
    const run = semaphore(2)
    const results = [0, 1, 2, 3, 4].map((i) => run(g.task(i)))
    await tick()
    assert.deepEqual(g.started, [0, 1])
    g.release(1)
    await tick()
    await tick()
    assert.deepEqual(g.started, [0, 1, 2])
    for (const i of [0, 2, 3, 4]) {
      g.release(i)
      await tick()
      await tick()
    }
    assert.deepEqual(await Promise.all(results), [0, 1, 2, 3, 4])
    assert.deepEqual(g.started, [0, 1, 2, 3, 4])
    assert.equal(g.peak(), 2)
  })

  it('frees the slot of a call that fails', async () => {
    const g = gated()
    const run = semaphore(1)
    const first = run(g.task(0, true))
    const second = run(g.task(1))
    await tick()
    g.release(0)
    await assert.rejects(first, /task 0 failed/)
    await tick()
    g.release(1)
    assert.equal(await second, 1)
    assert.equal(g.peak(), 1)
  })

  it('treats a limit below 1 as 1', async () => {
    const g = gated()
    const run = semaphore(0)
    const all = [run(g.task(0)), run(g.task(1))]
    await tick()
    assert.deepEqual(g.started, [0])
    g.release(0)
    await tick()
    await tick()
    g.release(1)
    assert.deepEqual(await Promise.all(all), [0, 1])
  })
})

describe('mapLimit', () => {
  it('keeps the input order and rejects with the first error once the calls in flight settle', async () => {
    const settled: number[] = []
    const p = mapLimit([0, 1, 2], 3, async (i) => {
      await tick()
      if (i === 0) throw new Error('first')
      await tick()
      settled.push(i)
      return i
    })
    await assert.rejects(p, /first/)
    assert.deepEqual(settled.sort(), [1, 2])
  })
})

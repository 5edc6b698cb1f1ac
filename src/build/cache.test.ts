import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { parseCacheSpec } from '../cache/spec/parse.ts'
import type { BlobPlan } from '../snapshot/layer-store.ts'
import { compressionPlan, Prepacker } from './cache.ts'
import type { State } from './state.ts'

/** A layer store that records which layers the prepacker packs, in order, each taking one tick. */
function fakeLayers() {
  const packed: string[] = []
  const plans: BlobPlan[] = []
  const layers = {
    exportBlob: async (id: string, plan: BlobPlan, _signal: AbortSignal, o: { offThread?: boolean }) => {
      assert.equal(o.offThread, true)
      plans.push(plan)
      await new Promise((resolve) => setImmediate(resolve))
      packed.push(id)
    },
  } as unknown as State['layers']
  return { layers, packed, plans }
}
const settle = () => new Promise((resolve) => setTimeout(resolve, 20))

describe('Prepacker', () => {
  const max = parseCacheSpec('type=local,dest=/tmp/x,mode=max,compression=zstd,compression-level=5', 'export')

  it("packs a build's own layers as their steps finish, a base image's only after the first of them", async () => {
    const { layers, packed, plans } = fakeLayers()
    const p = new Prepacker(max, layers)
    p.add(['base1', 'base2'], true) // FROM: inherited
    await settle()
    assert.deepEqual(packed, []) // the first step after FROM (a COPY) keeps the main thread busy: nothing yet
    p.add(['base1', 'base2', 'copy'], false)
    p.add(['base1', 'base2', 'copy', 'run'], false)
    await settle()
    assert.deepEqual(packed, ['copy', 'base1', 'base2', 'run'])
    assert.deepEqual(plans[0], compressionPlan(max[0] as (typeof max)[0]))
    p.stop()
  })

  it('packs nothing without a mode=max export, and stops what is queued', async () => {
    const min = fakeLayers()
    const p1 = new Prepacker(parseCacheSpec('type=local,dest=/tmp/x', 'export'), min.layers)
    p1.add(['a'], false)
    await settle()
    assert.deepEqual(min.packed, [])
    const max2 = fakeLayers()
    const p2 = new Prepacker(max, max2.layers)
    p2.add(['a', 'b', 'c'], false)
    p2.stop()
    await settle()
    assert.ok(max2.packed.length <= 1, `${max2.packed}`)
  })
})

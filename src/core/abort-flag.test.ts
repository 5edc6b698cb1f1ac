import assert from 'node:assert/strict'
import { getEventListeners } from 'node:events'
import { describe, it } from 'node:test'
import { AbortFlag } from './errors.ts'

describe('AbortFlag', () => {
  it('follows its signal: not aborted, then aborted with the reason', () => {
    const ac = new AbortController()
    const flag = new AbortFlag(ac.signal)
    assert.equal(flag.aborted, false)
    flag.throwIfAborted()
    const reason = new Error('stop')
    ac.abort(reason)
    assert.equal(flag.aborted, true)
    assert.throws(
      () => flag.throwIfAborted(),
      (e) => e === reason,
    )
    flag.dispose()
  })

  it('is aborted at once for a signal that already is', () => {
    const flag = new AbortFlag(AbortSignal.abort())
    assert.throws(() => flag.throwIfAborted(), { name: 'AbortError' })
  })

  it('never aborts without a signal', () => {
    const flag = new AbortFlag(undefined)
    flag.throwIfAborted()
    flag.dispose()
    assert.equal(flag.aborted, false)
  })

  it('leaves no listener on the signal once disposed (a build passes one signal to every walk)', () => {
    const ac = new AbortController()
    for (let i = 0; i < 20; i++) new AbortFlag(ac.signal).dispose()
    assert.equal(getEventListeners(ac.signal, 'abort').length, 0)
    const flag = new AbortFlag(ac.signal)
    flag.dispose()
    ac.abort()
    assert.equal(flag.aborted, false, 'a disposed flag no longer follows the signal')
  })
})

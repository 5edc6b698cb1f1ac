import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { CairnError } from '../core/errors.ts'
import { backoffMs, isConnectionReset, isRetryableStatus, RETRY_AFTER_MAX_MS, retryAfterMs, sleep } from './retry.ts'

describe('retry policy', () => {
  const policy = { attempts: 5, baseMs: 100, maxMs: 1000 }
  it('doubles the delay per retry and caps it, with jitter in [0.5, 1)', () => {
    assert.equal(
      backoffMs(1, policy, () => 0.999999),
      100,
    )
    assert.equal(
      backoffMs(1, policy, () => 0),
      50,
    )
    assert.equal(
      backoffMs(3, policy, () => 0.999999),
      400,
    )
    assert.equal(
      backoffMs(10, policy, () => 0.999999),
      1000,
    )
    assert.equal(
      backoffMs(10, policy, () => 0),
      500,
    )
  })
  it('parses Retry-After seconds and HTTP dates, clamped', () => {
    assert.equal(retryAfterMs('3', 0), 3000)
    assert.equal(retryAfterMs(new Date(10_000).toUTCString(), 4_000), 6000)
    assert.equal(retryAfterMs('999999', 0), RETRY_AFTER_MAX_MS)
    assert.equal(retryAfterMs('soon', 0), undefined)
    assert.equal(retryAfterMs(null, 0), undefined)
  })
  it('retries 429 and 5xx but not 501/505 or 4xx', () => {
    assert.deepEqual([429, 500, 502, 503, 504, 501, 505, 400, 404].map(isRetryableStatus), [true, true, true, true, true, false, false, false, false])
  })
  it('recognises connection resets through the cause chain', () => {
    const reset = Object.assign(new Error('read ECONNRESET'), { code: 'ECONNRESET' })
    assert.equal(isConnectionReset(new TypeError('fetch failed', { cause: reset })), true)
    assert.equal(isConnectionReset(new TypeError('terminated', { cause: Object.assign(new Error('other side closed'), { code: 'UND_ERR_SOCKET' }) })), true)
    assert.equal(isConnectionReset(new CairnError('ERR_X', 'x')), false)
    assert.equal(isConnectionReset(new Error('bad request')), false)
  })
  it('sleep rejects with the abort reason', async () => {
    const ac = new AbortController()
    const p = sleep(60_000, ac.signal)
    const reason = new Error('stop')
    ac.abort(reason)
    await assert.rejects(p, (e) => e === reason)
  })
})

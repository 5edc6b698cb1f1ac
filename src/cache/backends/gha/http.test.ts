import assert from 'node:assert/strict'
import { test } from 'node:test'
import { CairnError } from '../../../core/errors.ts'
import { callWithRetry, type GhaHttpDeps, redact, retryAfterMs } from './http.ts'

function deps(statuses: Array<number | Error>, headers: Record<string, string> = {}, body = ''): GhaHttpDeps & { sleeps: number[]; calls: number } {
  let now = 1_000_000
  const d = {
    sleeps: [] as number[],
    calls: 0,
    now: () => now,
    sleep: async (ms: number) => {
      d.sleeps.push(ms)
      now += ms
    },
    fetch: (async () => {
      const s = statuses[Math.min(d.calls++, statuses.length - 1)]
      if (s instanceof Error) throw s
      return new Response(s === 204 ? null : body, { status: s ?? 200, headers })
    }) as typeof fetch,
  }
  return d
}

const call = { method: 'GET', url: 'http://x/', what: 'lookup k' }

test('5xx and network errors back off exponentially, then succeed', async () => {
  const d = deps([503, new TypeError('fetch failed'), 502, 200])
  const res = await callWithRetry(d, { ...call, deadline: d.now() + 60_000 })
  assert.equal(res.status, 200)
  assert.deepEqual(d.sleeps, [1000, 2000, 4000])
})

test('429 honours Retry-After and ends in the throttling message', async () => {
  const d = deps([429], { 'retry-after': '3' }, '{"msg":"rate limit exceeded"}')
  await assert.rejects(callWithRetry(d, { ...call, deadline: d.now() + 600_000 }), (e: unknown) => {
    assert.ok(e instanceof CairnError)
    assert.equal(e.code, 'ERR_GHA_THROTTLED')
    assert.match(e.message, /throttling requests \(429\)/)
    return true
  })
  assert.deepEqual(d.sleeps, Array(7).fill(3000))
  assert.equal(d.calls, 8)
})

test('the deadline bounds the retries', async () => {
  const d = deps([500])
  await assert.rejects(callWithRetry(d, { ...call, deadline: d.now() + 3500 }), /HTTP 500/)
  assert.deepEqual(d.sleeps, [1000, 2000])
})

test('a 429 that refuses for quota is returned at once, not retried', async () => {
  const d = deps([429], {}, '{"code":"resource_exhausted","msg":"cache storage quota exceeded"}')
  const res = await callWithRetry(d, { ...call, deadline: d.now() + 60_000 })
  assert.equal(res.status, 429)
  assert.equal(d.calls, 1)
  assert.match(await res.text(), /quota/)
})

test('Retry-After forms and redaction', () => {
  assert.equal(retryAfterMs('2', 0), 2000)
  assert.equal(retryAfterMs(new Date(10_000).toUTCString(), 4000), 6000)
  assert.equal(retryAfterMs('soon', 0), undefined)
  assert.equal(redact('GET https://a/b?sv=1&sig=SECRET%3D&se=x token abcdef', ['abcdef']), 'GET https://a/b?sv=***&sig=***&se=*** token ***')
})

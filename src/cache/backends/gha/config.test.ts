import assert from 'node:assert/strict'
import { test } from 'node:test'
import { InvalidArgumentError } from '../../../core/errors.ts'
import { parseGhaAttrs, parseGoDuration, resolveGhaConfig } from './config.ts'

const TOKEN = 'h.e30.s'

test('version selection follows BuildKit getConfig', () => {
  // v2 when the runner says so (buildx fills url_v2 from ACTIONS_RESULTS_URL).
  const env2 = {
    ACTIONS_RUNTIME_TOKEN: TOKEN,
    ACTIONS_RESULTS_URL: 'https://results.example/',
    ACTIONS_CACHE_SERVICE_V2: 'true',
    ACTIONS_CACHE_URL: 'https://ac.example/id/',
  }
  let r = resolveGhaConfig({}, env2)
  assert.equal(r.protocol, 2)
  assert.equal(r.baseUrl, 'https://results.example/')
  assert.equal(r.scope, 'buildkit')
  assert.equal(r.timeoutMs, 600_000)
  // version=1 forces v1 on url.
  r = resolveGhaConfig({ version: 1 }, env2)
  assert.equal(r.protocol, 1)
  assert.equal(r.baseUrl, 'https://ac.example/id/')
  // GHES: only ACTIONS_CACHE_URL → v1.
  r = resolveGhaConfig({}, { ACTIONS_RUNTIME_TOKEN: TOKEN, ACTIONS_CACHE_URL: 'https://ghes.example/_services/x' })
  assert.equal(r.protocol, 1)
  assert.equal(r.baseUrl, 'https://ghes.example/_services/x/')
  // ACTIONS_CACHE_SERVICE_V2 not true: url falls back to ACTIONS_RESULTS_URL, version by host.
  r = resolveGhaConfig(
    {},
    { ACTIONS_RUNTIME_TOKEN: TOKEN, ACTIONS_RESULTS_URL: 'https://results-receiver.actions.githubusercontent.com/', ACTIONS_CACHE_SERVICE_V2: 'no' },
  )
  assert.equal(r.protocol, 2)
  // Explicit url_v2 attribute.
  r = resolveGhaConfig({ url_v2: 'http://127.0.0.1:9/x', token: TOKEN }, {})
  assert.equal(r.protocol, 2)
  assert.equal(r.baseUrl, 'http://127.0.0.1:9/x/')
})

test('missing token or URL: clear errors', () => {
  assert.throws(
    () => resolveGhaConfig({}, { ACTIONS_CACHE_URL: 'https://x/' }),
    (e: unknown) => e instanceof InvalidArgumentError && /no token/.test(e.message),
  )
  assert.throws(() => resolveGhaConfig({}, { ACTIONS_RUNTIME_TOKEN: TOKEN }), /no cache service URL/)
  assert.throws(() => resolveGhaConfig({ version: 3 }, { ACTIONS_RUNTIME_TOKEN: TOKEN, ACTIONS_CACHE_URL: 'https://x/' }), /unsupported version 3/)
})

test('attributes: url_v2, integer version, Go-duration timeout', () => {
  assert.deepEqual(parseGhaAttrs({ scope: 'img', url_v2: 'https://r/', version: '2', timeout: '1m30s' }), {
    scope: 'img',
    url_v2: 'https://r/',
    version: 2,
    timeoutMs: 90_000,
  })
  assert.throws(() => parseGhaAttrs({ version: 'two' }), /expected an integer/)
  assert.equal(parseGoDuration('10m'), 600_000)
  assert.equal(parseGoDuration('1.5s'), 1500)
  assert.equal(parseGoDuration('1h2m3s4ms'), 3_723_004)
  assert.throws(() => parseGoDuration('10'), /Go duration/)
  assert.throws(() => parseGoDuration('m'), /Go duration/)
})

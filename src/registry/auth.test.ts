import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { Authenticator, normalizeScopes, parseChallenges } from './auth.ts'

describe('parseChallenges', () => {
  it('parses a Bearer challenge with quoted params containing commas', () => {
    const got = parseChallenges('Bearer realm="https://auth.example/token",service="registry.example",scope="repository:a/b:pull,push"')
    assert.deepEqual(got, [
      { scheme: 'bearer', params: { realm: 'https://auth.example/token', service: 'registry.example', scope: 'repository:a/b:pull,push' } },
    ])
  })
  it('parses Basic and several challenges in one header, unquoted values and escapes', () => {
    const got = parseChallenges('Basic realm="Registry \\"x\\"", Bearer realm=https://t/token, service=s')
    assert.deepEqual(got, [
      { scheme: 'basic', params: { realm: 'Registry "x"' } },
      { scheme: 'bearer', params: { realm: 'https://t/token', service: 's' } },
    ])
  })
  it('returns nothing for an empty header', () => {
    assert.deepEqual(parseChallenges(''), [])
  })
})

describe('normalizeScopes', () => {
  it('merges actions per resource and sorts', () => {
    assert.deepEqual(normalizeScopes(['repository:z:push', 'repository:a:pull', 'repository:z:pull']), ['repository:a:pull', 'repository:z:pull,push'])
  })
  it('keeps host:port-free repository names with slashes intact', () => {
    assert.deepEqual(normalizeScopes(['repository:team/app:pull,push', 'repository:team/app:push,pull']), ['repository:team/app:pull,push'])
  })
})

describe('Authenticator with Basic auth', () => {
  const make = () =>
    new Authenticator({
      fetch: (async () => {
        throw new Error('Basic auth needs no token server')
      }) as typeof fetch,
      credentials: { get: async () => ({ kind: 'basic', username: 'u', password: 'p' }) },
      now: () => 0,
      userAgent: 'test',
    })

  it('retries every request refused before the challenge was known, and none that carried the credentials', async () => {
    const auth = make()
    // several requests go out at once, before the first challenge: none carries credentials
    assert.deepEqual(await auth.header('r.test', 'r.test', []), { sentCredentials: false })
    const refused = await Promise.all([0, 1, 2].map(() => auth.onUnauthorized('r.test', 'r.test', 'Basic realm="r"', [], undefined, false)))
    assert.deepEqual(
      refused.map((r) => r.retry),
      [true, true, true],
    )
    const h = await auth.header('r.test', 'r.test', [])
    assert.equal(h.authorization, `Basic ${Buffer.from('u:p').toString('base64')}`)
    // a request that carried them and was refused: the credentials are wrong, no retry
    assert.equal((await auth.onUnauthorized('r.test', 'r.test', 'Basic realm="r"', [], undefined, true)).retry, false)
  })
})

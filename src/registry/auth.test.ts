import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { normalizeScopes, parseChallenges } from './auth.ts'

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

import assert from 'node:assert/strict'
import { test } from 'node:test'
import { sha256 } from '../../../core/digest.ts'
import { InvalidArgumentError } from '../../../core/errors.ts'
import { blobKey, checkScopeAttr, GHA_CACHE_VERSION, indexKey, mutableSeq, scopeHash } from './keys.ts'
import { checkTokenTime, parseRuntimeToken, readScopes, writeScope } from './token.ts'

test('the cache version is sha256("|go-actionscache-1.0"), as BuildKit sends it', () => {
  assert.equal(GHA_CACHE_VERSION, '693bb7016429d80366022f036f84856888c9f13e00145f5f6f4dce303a38d6f2')
})

test('blob and index keys follow BuildKit naming', () => {
  const d = sha256('hello')
  assert.equal(blobKey(d), `buildkit-blob-1-${d}`)
  assert.equal(scopeHash('refs/heads/main'), 'f921bd05')
  assert.equal(indexKey('buildkit', 'refs/heads/main'), 'index-buildkit-1-f921bd05')
  assert.equal(mutableSeq('index-buildkit-1-f921bd05#12', 'index-buildkit-1-f921bd05'), 12)
  assert.equal(mutableSeq('index-buildkit-1-f921bd05#x', 'index-buildkit-1-f921bd05'), 0)
  assert.equal(mutableSeq('other#3', 'index-buildkit-1-f921bd05'), 0)
  assert.throws(() => checkScopeAttr('a,b'), InvalidArgumentError)
  assert.throws(() => checkScopeAttr(''), InvalidArgumentError)
})

const jwt = (claims: unknown): string => `e30.${Buffer.from(JSON.stringify(claims)).toString('base64url')}.sig`

test('runtime token: scopes from the ac claim, write = last writable, reads own scope first', () => {
  const ac = JSON.stringify([
    { Scope: 'refs/heads/main', Permission: 1 },
    { Scope: 'refs/pull/3/merge', Permission: 3 },
  ])
  const c = parseRuntimeToken(jwt({ ac, exp: 2000, nbf: 1000 }))
  assert.equal(writeScope(c), 'refs/pull/3/merge')
  assert.deepEqual(readScopes(c), ['refs/pull/3/merge', 'refs/heads/main'])
  checkTokenTime(c, 1500_000)
  assert.throws(() => checkTokenTime(c, 2500_000), /expired/)
  assert.throws(() => checkTokenTime(c, 500_000), /not valid before/)
  assert.equal(writeScope(parseRuntimeToken(jwt({ ac: JSON.stringify([{ Scope: 'r', Permission: 1 }]) }))), undefined)
})

test('a malformed token is refused without echoing it', () => {
  const secret = 'not-a-jwt-secret-value'
  assert.throws(
    () => parseRuntimeToken(secret),
    (e: unknown) => e instanceof InvalidArgumentError && !e.message.includes(secret),
  )
  assert.throws(() => parseRuntimeToken(`a.${Buffer.from('{"ac":"nope"}').toString('base64url')}.c`), /"ac" claim is not JSON/)
})

import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { InvalidArgumentError, NotFoundError, UnavailableError } from '../core/errors.ts'
import { displayUrl, errorFromNetwork, errorFromStatus, parseErrorBody, RegistryAuthError, redact } from './errors.ts'

const ctx = { registry: 'reg.example:5000', repository: 'team/app', op: 'push manifest latest' }

describe('registry errors', () => {
  it('redacts bearer/basic values, token fields and URL passwords', () => {
    const s = redact('Authorization: Bearer eyJhbGciOi.abc.def {"token":"t0k","access_token":"a"} Basic dXNlcjpwYXNz https://u:pw@h/x?password=p')
    for (const secret of ['eyJhbGciOi', 't0k', '"a"', 'dXNlcjpwYXNz', 'pw@', '=p']) assert.ok(!s.includes(secret), `${secret} leaked in ${s}`)
  })
  it('displayUrl drops query and userinfo', () => {
    assert.equal(displayUrl('https://u:p@h:1/v2/x/blobs/uploads/1?_state=abc&digest=sha256:1'), 'https://h:1/v2/x/blobs/uploads/1')
  })
  it('401 names the registry and the login command; with credentials it says denied', () => {
    const e = errorFromStatus(ctx, 401, [])
    assert.ok(e instanceof RegistryAuthError)
    assert.match(e.message, /reg\.example:5000\/team\/app: push manifest latest: authentication required for reg\.example:5000/)
    assert.match(e.hint ?? '', /docker login reg\.example:5000/)
    assert.match(errorFromStatus(ctx, 401, [], { sentCredentials: true }).message, /authentication denied/)
    assert.equal(errorFromStatus(ctx, 403, []).code, 'ERR_REGISTRY_DENIED')
  })
  it('404 is NotFoundError naming the thing', () => {
    const e = errorFromStatus(ctx, 404, [{ code: 'MANIFEST_UNKNOWN', message: 'manifest unknown' }], { what: 'manifest latest' })
    assert.ok(e instanceof NotFoundError)
    assert.match(e.message, /manifest latest not found in reg\.example:5000\/team\/app/)
  })
  it('MANIFEST_INVALID carries the registry code and message', () => {
    const errors = parseErrorBody('{"errors":[{"code":"MANIFEST_INVALID","message":"manifest invalid","detail":{"reason":"bad"}}]}')
    const e = errorFromStatus(ctx, 400, errors)
    assert.ok(e instanceof InvalidArgumentError)
    assert.equal(e.code, 'ERR_REGISTRY_MANIFEST_INVALID')
    assert.match(e.message, /MANIFEST_INVALID: manifest invalid/)
    assert.match(errorFromStatus(ctx, 415, []).message, /unsupported media type/)
  })
  it('5xx is UnavailableError; parseErrorBody tolerates junk', () => {
    assert.ok(errorFromStatus(ctx, 503, parseErrorBody('<html>')) instanceof UnavailableError)
  })
  it('a TLS failure over https gets the insecure-registry hint', () => {
    const cause = Object.assign(new Error('SSL routines::wrong version number'), { code: 'ERR_SSL_WRONG_VERSION_NUMBER' })
    const e = errorFromNetwork(ctx, 'https://reg.example:5000/v2/', new TypeError('fetch failed', { cause }))
    assert.equal(e.code, 'ERR_REGISTRY_TLS')
    assert.match(e.hint ?? '', /insecure/)
  })
})

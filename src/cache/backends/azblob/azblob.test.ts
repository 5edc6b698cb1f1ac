import assert from 'node:assert/strict'
import { test } from 'node:test'
import { sha256 } from '../../../core/digest.ts'
import { type CairnError, NotFoundError, UnavailableError } from '../../../core/errors.ts'
import { azBlobName, azManifestName, blockSizeFor, goPathJoin, resolveAzblobConfig } from './config.ts'
import { azError, azureRedactor } from './errors.ts'
import { createAzblobTransport } from './transport.ts'

test('goPathJoin behaves like Go path.Join', () => {
  const cases: [string[], string][] = [
    [['', 'blobs', 'sha256:ab'], 'blobs/sha256:ab'],
    [['p', 'blobs', 'x'], 'p/blobs/x'],
    [['p/', '/blobs/', 'x'], 'p/blobs/x'],
    [['a//b', './c', '../d'], 'a/b/d'],
    [['/root', 'x'], '/root/x'],
    [['', '', ''], ''],
    [['..', 'x'], '../x'],
    [['/..', 'x'], '/x'],
    [['a', '..'], '.'],
  ]
  for (const [parts, want] of cases) assert.equal(goPathJoin(...parts), want, JSON.stringify(parts))
})

test("names and defaults are BuildKit's", () => {
  const d = sha256('x')
  const c = resolveAzblobConfig({ account_url: 'https://myacct.blob.core.windows.net' })
  assert.equal(c.container, 'buildkit-cache')
  assert.equal(c.accountName, 'myacct')
  assert.equal(azBlobName(c, d), `blobs/${d}`)
  assert.equal(azManifestName(c, 'buildkit'), 'manifests/buildkit')
  const p = resolveAzblobConfig({ account_url: 'https://a.blob.core.windows.net', prefix: 'team/', blobs_prefix: 'b', manifests_prefix: 'm/' })
  assert.equal(azBlobName(p, d), `team/b/${d}`)
  assert.equal(azManifestName(p, 'main'), 'team/m/main')
  assert.equal(resolveAzblobConfig({ account_url: 'http://127.0.0.1:10000/devstoreaccount1' }).accountName, 'devstoreaccount1')
  assert.throws(() => resolveAzblobConfig({ container: 'Bad_Name' }), /container/)
  assert.throws(() => resolveAzblobConfig({ account_url: 'not a url' }), /account_url/)
})

test('block size grows so a blob fits in 50,000 blocks', () => {
  assert.equal(blockSizeFor(1, 8 << 20), 8 << 20)
  const big = 1000 * 1024 ** 3
  assert.ok(Math.ceil(big / blockSizeFor(big, 8 << 20)) <= 50_000)
})

test('credential resolution: what is missing is said, never the key', () => {
  assert.throws(
    () => createAzblobTransport({}, { env: {} }),
    (e: CairnError) => e.code === 'ERR_CACHE_AZBLOB_CONFIG' && /account_url/.test(e.message),
  )
  assert.throws(
    () => createAzblobTransport({ account_url: 'https://a.blob.core.windows.net' }, { env: {} }),
    (e: CairnError) => e.code === 'ERR_CACHE_AZBLOB_NO_CREDENTIALS',
  )
  const t = createAzblobTransport({ account_url: 'https://acct.blob.core.windows.net/?sv=2021&sig=SECRETSIG', prefix: 'x' }, { env: {} })
  assert.equal(t.location, 'azblob://acct/buildkit-cache/x')
  const cs = createAzblobTransport(
    {},
    { env: { AZURE_STORAGE_CONNECTION_STRING: 'DefaultEndpointsProtocol=https;AccountName=acct2;AccountKey=a2V5;EndpointSuffix=core.windows.net' } },
  )
  assert.equal(cs.location, 'azblob://acct2/buildkit-cache')
})

test('errors: remedies by code, secrets and SAS signatures redacted', () => {
  const redact = azureRedactor(['MYACCOUNTKEY=='])
  const ctx = { op: 'write ref x', uri: 'azblob://a/c/manifests/x', redact }
  const rest = (code: string, statusCode: number, message = code) => Object.assign(new Error(message), { name: 'RestError', code, statusCode })
  const denied = azError(rest('AuthenticationFailed', 403, 'failed for https://a/c/x?sv=1&sig=abcDEF123 key MYACCOUNTKEY=='), ctx) as CairnError
  assert.equal(denied.code, 'ERR_CACHE_AZBLOB_ACCESS_DENIED')
  assert.ok(!denied.message.includes('abcDEF123') && !denied.message.includes('MYACCOUNTKEY'))
  assert.equal(denied.cause, undefined)
  assert.ok(azError(rest('BlobNotFound', 404), ctx) instanceof NotFoundError)
  assert.equal((azError(rest('ContainerNotFound', 404), ctx) as CairnError).code, 'ERR_CACHE_AZBLOB_NO_CONTAINER')
  assert.ok(azError(rest('ServerBusy', 503), ctx) instanceof UnavailableError)
  assert.equal(redact('AccountKey=zzz;SharedAccessSignature=sv=1&sig=q'), 'AccountKey=[redacted];SharedAccessSignature=[redacted]')
})

import assert from 'node:assert/strict'
import { Readable } from 'node:stream'
import { after, before, describe, test } from 'node:test'
import { BlobServiceClient, ContainerSASPermissions, generateBlobSASQueryParameters, StorageSharedKeyCredential } from '@azure/storage-blob'
import { type AzblobTransportConfig, type AzblobTransportDeps, createAzblobTransport } from '../../src/cache/backends/azblob/index.ts'
import type { CacheTransport } from '../../src/cache/remote/transport.ts'
import { sha256 } from '../../src/core/digest.ts'
import { CairnError, FailedPreconditionError } from '../../src/core/errors.ts'
import { cacheTransportSuite } from '../../src/testing/cache-transport-suite.ts'
import { type AzuriteHandle, startAzurite } from '../services/azurite.ts'
import { readAll } from '../../src/testing/rss.ts'

const MiB = 1024 * 1024

const blob = (data: Buffer) => ({ digest: sha256(data), size: data.length, mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip' })

let az: AzuriteHandle
let svc: BlobServiceClient
let n = 0
const make = (over: Partial<AzblobTransportConfig> = {}, deps: Partial<AzblobTransportDeps> = {}): CacheTransport =>
  createAzblobTransport(
    { account_url: az.accountUrl, account_name: az.accountName, secret_access_key: az.accountKey, prefix: `t${++n}`, ...over },
    { env: {}, ...deps },
  )
async function names(container: string, prefix = ''): Promise<string[]> {
  const out: string[] = []
  for await (const page of svc.getContainerClient(container).listBlobsFlat({ prefix }).byPage({ maxPageSize: 2 })) {
    for (const b of page.segment.blobItems) out.push(b.name)
  }
  return out.sort()
}

before(async () => {
  az = await startAzurite()
  svc = BlobServiceClient.fromConnectionString(az.connectionString)
})
after(async () => {
  await az?.stop()
})

cacheTransportSuite('azblob (azurite)', async () => ({ transport: make(), cleanup: async () => {} }), { multipartBytes: 12 * MiB, largeBlobSize: 300_000_000 })

describe('azblob transport specifics', () => {
  test('transport identity', () => {
    const t = make({ prefix: 'team', container: 'cache1' })
    assert.equal(t.kind, 'azblob')
    assert.equal(t.refForm, 'config')
    assert.equal(t.location, 'azblob://devstoreaccount1/cache1/team')
  })

  test('the container is created on the first write; reads of a missing container are empty', async () => {
    const t = make({ container: 'fresh-container' })
    assert.equal(await t.readRef('buildkit'), undefined)
    assert.equal(await t.statBlob(sha256('x')), undefined)
    assert.equal(await svc.getContainerClient('fresh-container').exists(), false)
    await t.writeRef('buildkit', Buffer.from('{}'), 'application/json')
    assert.equal(await svc.getContainerClient('fresh-container').exists(), true)
  })

  test('several names are several refs', async () => {
    const t = make()
    await t.writeRef('main', Buffer.from('{"ref":"main"}'), 'application/json')
    await t.writeRef('pr-42', Buffer.from('{"ref":"pr"}'), 'application/json')
    assert.equal(Buffer.from((await t.readRef('main'))!).toString(), '{"ref":"main"}')
    assert.equal(Buffer.from((await t.readRef('pr-42'))!).toString(), '{"ref":"pr"}')
  })

  test("blob names are exactly BuildKit's (path-joined): defaults and custom prefixes", async () => {
    const data = Buffer.from('layout blob')
    const hex = sha256(data).slice(7)
    const dflt = make({ container: 'layout', prefix: '' })
    await dflt.putBlob(blob(data), () => Readable.from([data]))
    await dflt.writeRef('buildkit', Buffer.from('{}'), 'application/json')
    assert.deepEqual(await names('layout'), [`blobs/sha256:${hex}`, 'manifests/buildkit'])
    const custom = make({ container: 'layout', prefix: 'ci/app/', blobs_prefix: '/b//', manifests_prefix: 'refs' })
    await custom.putBlob(blob(data), () => Readable.from([data]))
    await custom.writeRef('main', Buffer.from('{}'), 'application/json')
    await custom.writeRef('dev', Buffer.from('{}'), 'application/json')
    assert.deepEqual(await names('layout', 'ci/'), [`ci/app/b/sha256:${hex}`, 'ci/app/refs/dev', 'ci/app/refs/main'])
    // The default container is BuildKit's.
    const dc = make({ prefix: 'p' })
    await dc.writeRef('x', Buffer.from('{}'), 'application/json')
    assert.deepEqual(await names('buildkit-cache', 'p/'), ['p/manifests/x'])
  })

  test('a SAS in account_url and a connection string from env both work', async () => {
    const container = 'sas-container'
    await svc.getContainerClient(container).createIfNotExists()
    const sas = generateBlobSASQueryParameters(
      { containerName: container, permissions: ContainerSASPermissions.parse('racwl'), expiresOn: new Date(Date.now() + 3600_000) },
      new StorageSharedKeyCredential(az.accountName, az.accountKey),
    ).toString()
    const t = createAzblobTransport({ account_url: `${az.accountUrl}?${sas}`, container }, { env: {} })
    const data = Buffer.from('via sas')
    await t.putBlob(blob(data), () => Readable.from([data]))
    await t.writeRef('buildkit', Buffer.from('{"sas":1}'), 'application/json')
    const c = createAzblobTransport({ container }, { env: { AZURE_STORAGE_CONNECTION_STRING: az.connectionString } })
    assert.equal(Buffer.from((await c.readRef('buildkit'))!).toString(), '{"sas":1}')
    assert.deepEqual(await readAll(await c.openBlob(blob(data))), data)
    // A SAS for another container is refused with the access-denied message, signature redacted.
    const e = await createAzblobTransport({ account_url: `${az.accountUrl}?${sas}`, container: 'other-container' }, { env: {} })
      .writeRef('x', Buffer.from('{}'), 'application/json')
      .then(
        () => undefined,
        (err: unknown) => err as CairnError,
      )
    assert.equal(e?.code, 'ERR_CACHE_AZBLOB_ACCESS_DENIED')
    const sig = new URLSearchParams(sas).get('sig') ?? ''
    assert.ok(sig.length > 10 && !`${e?.message} ${e?.hint} ${JSON.stringify(e?.details)}`.includes(sig))
  })

  test('wrong credentials: a clear message that names the blob and holds no secret', async () => {
    const secret = Buffer.from('this-is-not-the-account-key-0123456789').toString('base64')
    const t = make({ secret_access_key: secret })
    const err = await t.readRef('buildkit').then(
      () => undefined,
      (e: unknown) => e,
    )
    assert.ok(err instanceof CairnError, String(err))
    assert.equal(err.code, 'ERR_CACHE_AZBLOB_ACCESS_DENIED')
    assert.match(err.message, /azblob:\/\/devstoreaccount1\/buildkit-cache\/t\d+\/manifests\/buildkit/)
    assert.match(err.hint ?? '', /secret_access_key/)
    const all = `${err.message} ${err.hint} ${JSON.stringify(err.details)} ${err.stack} ${String(err.cause)}`
    assert.ok(!all.includes(secret), all)
    const e2 = await make({ secret_access_key: secret })
      .putBlob(blob(Buffer.from('x')), () => Readable.from([Buffer.from('x')]))
      .then(
        () => undefined,
        (e: unknown) => e as CairnError,
      )
    assert.equal(e2?.code, 'ERR_CACHE_AZBLOB_ACCESS_DENIED')
    assert.ok(!`${e2?.message} ${e2?.hint}`.includes(secret))
    // No credentials at all: says what to pass.
    assert.throws(
      () => createAzblobTransport({ account_url: 'https://acct.blob.core.windows.net' }, { env: {} }),
      (e: CairnError) => e.code === 'ERR_CACHE_AZBLOB_NO_CREDENTIALS' && /secret_access_key/.test(e.hint ?? ''),
    )
  })

  test('truncated blob under the digest name: stat shows the real size, the read fails, putBlob repairs it', async () => {
    const t = make({ prefix: 'trunc' })
    const data = Buffer.from('0123456789abcdefghij')
    const d = sha256(data)
    await svc.getContainerClient('buildkit-cache').createIfNotExists()
    await svc.getContainerClient('buildkit-cache').getBlockBlobClient(`trunc/blobs/${d}`).upload(data.subarray(0, 7), 7)
    assert.equal((await t.statBlob(d))?.size, 7)
    const stream = await t.openBlob(blob(data))
    await assert.rejects(readAll(stream), FailedPreconditionError)
    await t.putBlob(blob(data), () => Readable.from([data]))
    assert.deepEqual(await readAll(await t.openBlob(blob(data))), data)
  })
})

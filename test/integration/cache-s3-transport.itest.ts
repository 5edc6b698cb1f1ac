import assert from 'node:assert/strict'
import { Readable } from 'node:stream'
import { after, before, describe, test } from 'node:test'
import { CreateBucketCommand, HeadObjectCommand, ListObjectsV2Command, PutObjectCommand, S3Client } from '@aws-sdk/client-s3'
import { createS3Transport, type S3TransportConfig, type S3TransportDeps } from '../../src/cache/backends/s3/index.ts'
import type { CacheTransport } from '../../src/cache/remote/transport.ts'
import { sha256 } from '../../src/core/digest.ts'
import { CairnError, FailedPreconditionError, NotFoundError } from '../../src/core/errors.ts'
import { cacheTransportSuite } from '../../src/testing/cache-transport-suite.ts'
import { type S3rverHandle, startS3rver } from '../services/s3.ts'
import { readAll } from '../../src/testing/rss.ts'

const MiB = 1024 * 1024

const blob = (data: Buffer) => ({ digest: sha256(data), size: data.length, mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip' })

let s3: S3rverHandle
let admin: S3Client
let n = 0
const make = (over: Partial<S3TransportConfig> = {}, deps: Partial<S3TransportDeps> = {}): CacheTransport =>
  createS3Transport(
    {
      bucket: s3.bucket,
      region: s3.region,
      endpoint_url: s3.endpoint,
      use_path_style: true,
      access_key_id: s3.accessKeyId,
      secret_access_key: s3.secretAccessKey,
      prefix: `t${++n}/`,
      ...over,
    },
    { env: {}, ...deps },
  )
async function keys(bucket: string, prefix = ''): Promise<string[]> {
  const out: string[] = []
  let token: string | undefined
  do {
    const r = await admin.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix, MaxKeys: 2, ...(token ? { ContinuationToken: token } : {}) }))
    for (const o of r.Contents ?? []) out.push(o.Key ?? '')
    token = r.NextContinuationToken
  } while (token)
  return out.sort()
}

before(async () => {
  s3 = await startS3rver()
  admin = new S3Client({
    region: s3.region,
    endpoint: s3.endpoint,
    forcePathStyle: true,
    credentials: { accessKeyId: s3.accessKeyId, secretAccessKey: s3.secretAccessKey },
  })
})
after(async () => {
  admin?.destroy()
  await s3?.stop()
})

cacheTransportSuite('s3 (s3rver)', async () => ({ transport: make(), cleanup: async () => {} }), { multipartBytes: 12 * MiB, largeBlobSize: 300_000_000 })

describe('s3 transport specifics', () => {
  test('transport identity', () => {
    const t = make({ prefix: 'team/' })
    assert.equal(t.kind, 's3')
    assert.equal(t.refForm, 'config')
    assert.equal(t.location, `s3://${s3.bucket}/team/`)
  })

  test('several names are several refs', async () => {
    const t = make()
    await t.writeRef('main', Buffer.from('{"ref":"main"}'), 'application/json')
    await t.writeRef('pr-42', Buffer.from('{"ref":"pr"}'), 'application/json')
    assert.equal(Buffer.from((await t.readRef('main'))!).toString(), '{"ref":"main"}')
    assert.equal(Buffer.from((await t.readRef('pr-42'))!).toString(), '{"ref":"pr"}')
  })

  test("object keys are exactly BuildKit's: defaults and custom prefixes", async () => {
    await admin.send(new CreateBucketCommand({ Bucket: 'layout' }))
    const data = Buffer.from('layout blob')
    const hex = sha256(data).slice(7)
    const dflt = make({ bucket: 'layout', prefix: '' })
    await dflt.putBlob(blob(data), () => Readable.from([data]))
    await dflt.writeRef('buildkit', Buffer.from('{}'), 'application/json')
    assert.deepEqual(await keys('layout'), [`blobs/sha256:${hex}`, 'manifests/buildkit'])
    const custom = make({ bucket: 'layout', prefix: 'ci/app-', blobs_prefix: 'b/', manifests_prefix: 'refs/' })
    await custom.putBlob(blob(data), () => Readable.from([data]))
    await custom.writeRef('main', Buffer.from('{}'), 'application/json')
    await custom.writeRef('dev', Buffer.from('{}'), 'application/json')
    assert.deepEqual(await keys('layout', 'ci/'), [`ci/app-b/sha256:${hex}`, 'ci/app-refs/dev', 'ci/app-refs/main'])
    // Plain concatenation: no slash is added between prefix parts.
    const glued = make({ bucket: 'layout', prefix: 'x', blobs_prefix: 'y', manifests_prefix: 'z' })
    await glued.writeRef('n', Buffer.from('{}'), 'application/json')
    assert.deepEqual(await keys('layout', 'x'), ['xzn'])
  })

  test('touch_refresh: an old blob is copied onto itself, a fresh one is left alone', async () => {
    const data = Buffer.from('touch me')
    const d = sha256(data)
    let now = new Date()
    const t = make({ prefix: 'touch/', touch_refresh_ms: 24 * 3600_000 }, { clock: () => now })
    await t.putBlob(blob(data), () => Readable.from([data]))
    const key = `touch/blobs/${d}`
    const head = () => admin.send(new HeadObjectCommand({ Bucket: s3.bucket, Key: key }))
    await t.touchBlob!(d)
    assert.equal((await head()).Metadata?.['updated-at'], undefined, 'fresh blob must not be touched')
    now = new Date(Date.now() + 25 * 3600_000)
    await t.touchBlob!(d)
    const touched = await head()
    assert.equal(touched.Metadata?.['updated-at'], now.toISOString())
    // (Real S3 also refreshes LastModified; s3rver keeps the file's mtime on a self-copy.)
    assert.equal(touched.ContentType, blob(data).mediaType, 'content type kept')
    assert.deepEqual(await readAll(await t.openBlob(blob(data))), data)
    await assert.rejects(t.touchBlob!(sha256('absent')), NotFoundError)
  })

  test('wrong credentials: a clear message that names the object and holds no secret', async () => {
    const secret = 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYzzSECRET'
    const token = 'FwoGZXIvYXdzEXAMPLESESSIONTOKEN0123456789'
    const t = make({ access_key_id: 'AKIAWRONGWRONGWRONG', secret_access_key: secret, session_token: token })
    const err = await t.readRef('buildkit').then(
      () => undefined,
      (e: unknown) => e,
    )
    assert.ok(err instanceof CairnError, String(err))
    assert.equal(err.code, 'ERR_CACHE_S3_ACCESS_DENIED')
    assert.match(err.message, new RegExp(`s3://${s3.bucket}/t\\d+/manifests/buildkit`))
    assert.match(err.hint ?? '', /credentials/)
    const all = `${err.message} ${err.hint} ${JSON.stringify(err.details)} ${err.stack} ${String(err.cause)}`
    assert.ok(!all.includes(secret) && !all.includes(token), all)
    // The env route is redacted the same way.
    const viaEnv = make(
      { access_key_id: '', secret_access_key: '' },
      { env: { AWS_ACCESS_KEY_ID: 'AKIAWRONG2', AWS_SECRET_ACCESS_KEY: secret, AWS_SESSION_TOKEN: token } },
    )
    const e2 = await viaEnv.statBlob(sha256('x')).then(
      () => undefined,
      (e: unknown) => e as CairnError,
    )
    assert.equal(e2?.code, 'ERR_CACHE_S3_ACCESS_DENIED')
    assert.ok(!`${e2?.message} ${e2?.hint}`.includes(secret))
  })

  test('missing bucket: says so and how to fix it', async () => {
    const t = make({ bucket: 'no-such-bucket' })
    const check = (e: CairnError) => e.code === 'ERR_CACHE_S3_NO_BUCKET' && /s3:\/\/no-such-bucket/.test(e.message) && /bucket=/.test(e.hint ?? '')
    await assert.rejects(t.statBlob(sha256('x')), check)
    await assert.rejects(t.readRef('buildkit'), check)
    await assert.rejects(
      t.putBlob(blob(Buffer.from('x')), () => Readable.from([Buffer.from('x')])),
      check,
    )
  })

  test('truncated blob under the digest key: stat shows the real size, the read fails, putBlob repairs it', async () => {
    const t = make({ prefix: 'trunc/' })
    const data = Buffer.from('0123456789abcdefghij')
    const d = sha256(data)
    await admin.send(new PutObjectCommand({ Bucket: s3.bucket, Key: `trunc/blobs/${d}`, Body: data.subarray(0, 7) }))
    assert.equal((await t.statBlob(d))?.size, 7)
    const stream = await t.openBlob(blob(data))
    await assert.rejects(readAll(stream), FailedPreconditionError)
    await t.putBlob(blob(data), () => Readable.from([data]))
    assert.deepEqual(await readAll(await t.openBlob(blob(data))), data)
  })
})

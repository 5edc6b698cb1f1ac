import assert from 'node:assert/strict'
import { test } from 'node:test'
import type { S3Client } from '@aws-sdk/client-s3'
import { sha256 } from '../../../core/digest.ts'
import { type CairnError, type InvalidArgumentError, NotFoundError, UnavailableError } from '../../../core/errors.ts'
import { partSizeFor, resolveS3Config, s3BlobKey, s3ManifestKey } from './config.ts'
import { s3Error, secretRedactor } from './errors.ts'
import { copyRanges, copySource, touchObject } from './touch.ts'

const base = { bucket: 'b', region: 'eu-west-1' }

test("keys are BuildKit's: plain concatenation, defaults blobs/ and manifests/", () => {
  const d = sha256('x')
  const dflt = resolveS3Config(base)
  assert.equal(s3BlobKey(dflt, d), `blobs/${d}`)
  assert.equal(s3ManifestKey(dflt, 'buildkit'), 'manifests/buildkit')
  const c = resolveS3Config({ ...base, prefix: 'team/', blobs_prefix: 'b-', manifests_prefix: 'm/' })
  assert.equal(s3BlobKey(c, d), `team/b-${d}`)
  assert.equal(s3ManifestKey(c, 'main'), 'team/m/main')
})

test('config defaults and validation name the attribute', () => {
  const c = resolveS3Config({ ...base, use_path_style: true })
  assert.equal(c.usePathStyle, false, 'use_path_style only applies with endpoint_url')
  assert.equal(c.uploadParallelism, 4)
  assert.equal(c.touchRefreshMs, 24 * 3600_000)
  assert.equal(resolveS3Config({ ...base, endpoint_url: 'http://127.0.0.1:9000', use_path_style: true }).usePathStyle, true)
  assert.throws(
    () => resolveS3Config({ ...base, bucket: '' }),
    (e: InvalidArgumentError) => /bucket/.test(e.message) && /AWS_BUCKET/.test(e.hint ?? ''),
  )
  assert.throws(() => resolveS3Config({ ...base, upload_parallelism: 0 }), /upload_parallelism/)
  assert.throws(() => resolveS3Config({ ...base, part_size: 1024 }), /part_size/)
  assert.throws(() => resolveS3Config({ ...base, endpoint_url: 'http://u:pw@host' }), /endpoint_url/)
})

test('part size grows so a blob fits in 10,000 parts', () => {
  assert.equal(partSizeFor(100, 5 << 20), 5 << 20)
  const big = 200 * 1024 ** 3
  const p = partSizeFor(big, 5 << 20)
  assert.ok(Math.ceil(big / p) <= 10_000 && p % (1 << 20) === 0)
})

test('copy source keeps / and :, encodes the rest; ranges cover the object', () => {
  assert.equal(copySource('bkt', 'a b/blobs/sha256:ab'), 'bkt/a%20b/blobs/sha256:ab')
  assert.deepEqual(copyRanges(10, 4), ['bytes=0-3', 'bytes=4-7', 'bytes=8-9'])
  assert.deepEqual(copyRanges(8, 4), ['bytes=0-3', 'bytes=4-7'])
})

test('touch: CopyObject with REPLACE below the limit, UploadPartCopy ranges above it, abort on failure', async () => {
  const sent: { name: string; input: Record<string, unknown> }[] = []
  let failPart = 0
  const client = {
    send: async (cmd: { constructor: { name: string }; input: Record<string, unknown> }) => {
      sent.push({ name: cmd.constructor.name, input: cmd.input })
      if (cmd.constructor.name === 'CreateMultipartUploadCommand') return { UploadId: 'u1' }
      if (cmd.constructor.name === 'UploadPartCopyCommand') {
        if (cmd.input.PartNumber === failPart) throw Object.assign(new Error('boom'), { name: 'InternalError' })
        return { CopyPartResult: { ETag: `e${String(cmd.input.PartNumber)}` } }
      }
      return {}
    },
  } as unknown as S3Client
  const now = new Date('2030-01-02T03:04:05.000Z')
  await touchObject({ client, bucket: 'b', key: 'blobs/sha256:aa', size: 5, contentType: 'x/y', now, copyLimit: 4 * 1024 ** 2 })
  assert.equal(sent[0]?.name, 'CopyObjectCommand')
  assert.deepEqual(sent[0]?.input, {
    Bucket: 'b',
    Key: 'blobs/sha256:aa',
    ContentType: 'x/y',
    CopySource: 'b/blobs/sha256:aa',
    MetadataDirective: 'REPLACE',
    Metadata: { 'updated-at': now.toISOString() },
  })
  sent.length = 0
  await touchObject({ client, bucket: 'b', key: 'k', size: 10, contentType: undefined, now, copyLimit: 4 })
  assert.deepEqual(
    sent.map((s) => s.name),
    ['CreateMultipartUploadCommand', 'UploadPartCopyCommand', 'UploadPartCopyCommand', 'UploadPartCopyCommand', 'CompleteMultipartUploadCommand'],
  )
  assert.deepEqual(
    sent.slice(1, 4).map((s) => s.input.CopySourceRange),
    ['bytes=0-3', 'bytes=4-7', 'bytes=8-9'],
  )
  assert.deepEqual(sent[4]?.input.MultipartUpload, {
    Parts: [
      { ETag: 'e1', PartNumber: 1 },
      { ETag: 'e2', PartNumber: 2 },
      { ETag: 'e3', PartNumber: 3 },
    ],
  })
  sent.length = 0
  failPart = 2
  await assert.rejects(touchObject({ client, bucket: 'b', key: 'k', size: 10, contentType: undefined, now, copyLimit: 4 }), /boom/)
  assert.deepEqual(sent.map((s) => s.name).slice(-1), ['AbortMultipartUploadCommand'])
})

test('errors: codes map to remedies and secrets are redacted', () => {
  const redact = secretRedactor(['TOPSECRETKEY', 'SESSIONTOKENVALUE', undefined, 'ab'])
  const ctx = { op: 'read ref buildkit', uri: 's3://b/manifests/buildkit', redact }
  const sdk = (name: string, status: number, message = name) => Object.assign(new Error(message), { name, $metadata: { httpStatusCode: status } })
  const denied = s3Error(sdk('AccessDenied', 403, 'denied for TOPSECRETKEY with SESSIONTOKENVALUE'), ctx) as CairnError
  assert.equal(denied.code, 'ERR_CACHE_S3_ACCESS_DENIED')
  assert.match(denied.message, /s3:\/\/b\/manifests\/buildkit/)
  assert.ok(!denied.message.includes('TOPSECRETKEY') && !denied.message.includes('SESSIONTOKENVALUE'))
  assert.equal(denied.cause, undefined)
  const nb = s3Error(sdk('NoSuchBucket', 404), ctx) as CairnError
  assert.ok(nb instanceof NotFoundError && nb.code === 'ERR_CACHE_S3_NO_BUCKET' && /bucket=/.test(nb.hint ?? ''))
  assert.ok(s3Error(sdk('SlowDown', 503), ctx) instanceof UnavailableError)
  assert.ok(s3Error(sdk('InternalError', 500), ctx) instanceof UnavailableError)
  assert.ok(s3Error(Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' }), ctx) instanceof UnavailableError)
  assert.ok(s3Error(sdk('NoSuchKey', 404), ctx) instanceof NotFoundError)
  const ac = new AbortController()
  const reason = new Error('stop')
  ac.abort(reason)
  assert.equal(s3Error(sdk('InternalError', 500), { ...ctx, signal: ac.signal }), reason)
  assert.equal(redact('X-Amz-Security-Token=abc&x=1'), 'X-Amz-Security-Token=[redacted]&x=1')
})

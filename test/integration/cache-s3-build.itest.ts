// `--cache-to/--cache-from type=s3` end to end: real cairn builds against s3rver on 127.0.0.1.
import assert from 'node:assert/strict'
import { rm } from 'node:fs/promises'
import { join } from 'node:path'
import { after, before, describe, it } from 'node:test'
import { DeleteObjectCommand, GetObjectCommand, ListObjectsV2Command, PutObjectCommand, S3Client } from '@aws-sdk/client-s3'
import { buildBaseImage, cairn, hasStackTrace, missingPrerequisite, readJSON, steps, tempDir, writeTree } from '../helpers/cairn.ts'
import { type S3rverHandle, startS3rver } from '../services/s3.ts'
import { CACHE_DOCKERFILE, ranSteps, sha256File } from '../helpers/cache-fixture.ts'

const skip = await missingPrerequisite(['runc'])

const DOCKERFILE = CACHE_DOCKERFILE

const sha = sha256File

describe('type=s3 cache through the CLI (s3rver)', { skip }, () => {
  let s3: S3rverHandle
  let admin: S3Client
  let ctx = ''
  let work = ''
  const roots: string[] = []
  const env: NodeJS.ProcessEnv = {}

  before(async () => {
    s3 = await startS3rver()
    admin = new S3Client({
      endpoint: s3.endpoint,
      region: s3.region,
      forcePathStyle: true,
      credentials: { accessKeyId: s3.accessKeyId, secretAccessKey: s3.secretAccessKey },
    })
    ctx = await tempDir('s3ctx')
    work = await tempDir('s3work')
    await writeTree(ctx, { Dockerfile: DOCKERFILE, 'src/a.txt': 'a\n', 'src/b.txt': 'b\n' })
    // credentials from the environment (the AWS variables), as on a CI runner
    Object.assign(env, { AWS_ACCESS_KEY_ID: s3.accessKeyId, AWS_SECRET_ACCESS_KEY: s3.secretAccessKey, AWS_REGION: s3.region })
  })
  after(async () => {
    admin?.destroy()
    await s3?.stop()
    for (const d of [ctx, work, ...roots]) await rm(d, { recursive: true, force: true })
  })

  /** A fresh machine: a new --root with only the (deterministic) base image. */
  const fresh = async () => {
    const r = await tempDir('s3root')
    roots.push(r)
    await buildBaseImage(r)
    return r
  }
  const spec = (extra = '') => `type=s3,bucket=${s3.bucket},endpoint_url=${s3.endpoint},use_path_style=true${extra}`
  const build = (root: string, name: string, extra: string[]) =>
    cairn(
      root,
      ['build', '--progress=plain', '--metadata-file', join(work, `${name}.json`), '-o', `type=oci,dest=${join(work, `${name}.tar`)}`, ...extra, ctx],
      env,
    )
  const list = async (prefix = '') => {
    const out: { key: string; size: number }[] = []
    let token: string | undefined
    do {
      const r = await admin.send(new ListObjectsV2Command({ Bucket: s3.bucket, Prefix: prefix, ...(token ? { ContinuationToken: token } : {}) }))
      for (const o of r.Contents ?? []) out.push({ key: o.Key ?? '', size: o.Size ?? 0 })
      token = r.IsTruncated ? r.NextContinuationToken : undefined
    } while (token)
    return out
  }
  const getObject = async (key: string) =>
    Buffer.from(await (await admin.send(new GetObjectCommand({ Bucket: s3.bucket, Key: key }))).Body!.transformToByteArray())
  const putObject = (key: string, body: Buffer) => admin.send(new PutObjectCommand({ Bucket: s3.bucket, Key: key, Body: body }))

  it('mode=max: a fresh machine runs no RUN or COPY step and gets a byte-identical image', async (t) => {
    const t0 = performance.now()
    const r1 = await build(await fresh(), 'rt1', ['--cache-to', spec(',prefix=rt/,mode=max')])
    assert.equal(r1.code, 0, r1.stderr)
    const t1 = performance.now()
    const r2 = await build(await fresh(), 'rt2', ['--cache-from', spec(',prefix=rt/')])
    assert.equal(r2.code, 0, r2.stderr)
    t.diagnostic(`export build ${Math.round(t1 - t0)} ms, import build ${Math.round(performance.now() - t1)} ms (each including a fresh base image)`)
    assert.deepEqual(ranSteps(await steps(join(work, 'rt2.json'))), [], 'no RUN or COPY step may run')
    assert.equal(await sha(join(work, 'rt2.tar')), await sha(join(work, 'rt1.tar')), 'byte-identical image')
    // BuildKit's layout: the raw cache config under manifests/, blobs under blobs/sha256:<hex>
    const doc = JSON.parse((await getObject('rt/manifests/buildkit')).toString()) as { layers: { blob: string; annotations: Record<string, string> }[] }
    assert.ok(doc.layers.length >= 4 && doc.layers.every((l) => l.annotations.diffID?.startsWith('sha256:')))
    const blobs = (await list('rt/blobs/')).map((o) => o.key)
    for (const l of doc.layers) assert.ok(blobs.includes(`rt/blobs/${l.blob}`), `rt/blobs/${l.blob} is in the bucket`)
  })

  it('a second export of an unchanged cache uploads no blob', async () => {
    const before = await list('rt/blobs/')
    const r = await build(await fresh(), 'again', ['--cache-from', spec(',prefix=rt/'), '--cache-to', spec(',prefix=rt/,mode=max')])
    assert.equal(r.code, 0, r.stderr)
    const md = await readJSON<{ 'cairn.cache.exports': Record<string, { uploaded: number; present: number }> }>(join(work, 'again.json'))
    const exports = Object.values(md['cairn.cache.exports'])
    assert.equal(exports.length, 1)
    assert.equal(exports[0]?.uploaded, 0)
    assert.ok((exports[0]?.present ?? 0) >= 4)
    assert.deepEqual(await list('rt/blobs/'), before)
  })

  it('name=a;b: export writes both manifests, each is importable; import reads only the first name (as BuildKit)', async () => {
    const r1 = await build(await fresh(), 'names1', ['--cache-to', spec(',prefix=names/,name=main;pr-7,mode=max')])
    assert.equal(r1.code, 0, r1.stderr)
    const manifests = (await list('names/manifests/')).map((o) => o.key).sort()
    assert.deepEqual(manifests, ['names/manifests/main', 'names/manifests/pr-7'])
    assert.deepEqual(await getObject('names/manifests/main'), await getObject('names/manifests/pr-7'))
    for (const name of ['main', 'pr-7']) {
      const r = await build(await fresh(), `names-${name}`, ['--cache-from', spec(`,prefix=names/,name=${name}`)])
      assert.equal(r.code, 0, r.stderr)
      assert.deepEqual(ranSteps(await steps(join(work, `names-${name}.json`))), [], `import of name=${name}`)
    }
    // BuildKit's s3 importer reads the first name only: a missing first name is an empty cache
    const miss = await build(await fresh(), 'names-miss', ['--cache-from', spec(',prefix=names/,name=nothing;main')])
    assert.equal(miss.code, 0, miss.stderr)
    assert.match(miss.stderr, /WARNING.*nothing found/)
    assert.ok(ranSteps(await steps(join(work, 'names-miss.json'))).length > 0)
    // one --cache-from per name is how to read several
    const two = await build(await fresh(), 'names-two', ['--cache-from', spec(',prefix=names/,name=nothing'), '--cache-from', spec(',prefix=names/,name=main')])
    assert.equal(two.code, 0, two.stderr)
    assert.deepEqual(ranSteps(await steps(join(work, 'names-two.json'))), [])
  })

  it('prefix, blobs_prefix and manifests_prefix give the object keys BuildKit writes', async () => {
    const p = ',prefix=team/app-,blobs_prefix=layers/,manifests_prefix=index/,name=v1'
    const r1 = await build(await fresh(), 'pfx1', ['--cache-to', spec(`${p},mode=max`)])
    assert.equal(r1.code, 0, r1.stderr)
    const keys = (await list('team/')).map((o) => o.key)
    assert.ok(keys.includes('team/app-index/v1'), keys.join(' '))
    const blobKeys = keys.filter((k) => k !== 'team/app-index/v1')
    assert.ok(blobKeys.length >= 4 && blobKeys.every((k) => /^team\/app-layers\/sha256:[0-9a-f]{64}$/.test(k)), blobKeys.join(' '))
    const r2 = await build(await fresh(), 'pfx2', ['--cache-from', spec(p)])
    assert.equal(r2.code, 0, r2.stderr)
    assert.deepEqual(ranSteps(await steps(join(work, 'pfx2.json'))), [])
  })

  it('static credentials in the spec work without the AWS environment; wrong ones fail the export clearly', async () => {
    const noEnv = { AWS_ACCESS_KEY_ID: '', AWS_SECRET_ACCESS_KEY: '', AWS_REGION: '' }
    const creds = `,region=${s3.region},access_key_id=${s3.accessKeyId},secret_access_key=${s3.secretAccessKey}`
    const root = await fresh()
    const ok = await cairn(root, ['build', '--progress=plain', '--cache-to', spec(`${creds},prefix=static/`), ctx], noEnv)
    assert.equal(ok.code, 0, ok.stderr)
    assert.ok((await list('static/manifests/')).length === 1)
    const bad = await cairn(
      root,
      ['build', '--progress=plain', '--cache-to', spec(`,region=${s3.region},access_key_id=nobody,secret_access_key=wrong-secret-value,prefix=bad/`), ctx],
      noEnv,
    )
    assert.notEqual(bad.code, 0)
    assert.match(bad.stderr, /ERROR: failed to export cache to s3:/)
    assert.ok(!bad.stderr.includes('wrong-secret-value'), 'the secret is not printed')
    assert.ok(!hasStackTrace(bad.stderr), bad.stderr)
  })

  describe('a broken layer object is a miss with a warning, never a failed build', () => {
    const faults: [string, (key: string) => Promise<unknown>][] = [
      ['deleted', (key) => admin.send(new DeleteObjectCommand({ Bucket: s3.bucket, Key: key }))],
      ['truncated', async (key) => putObject(key, (await getObject(key)).subarray(0, 100_000))],
      [
        'bit-flipped',
        async (key) => {
          const b = await getObject(key)
          b[100] = (b[100] as number) ^ 0xff
          await putObject(key, b)
        },
      ],
    ]
    for (const [what, damage] of faults) {
      it(`a ${what} layer object`, async () => {
        const prefix = `fault-${what}/`
        const r1 = await build(await fresh(), `fault1-${what}`, ['--cache-to', spec(`,prefix=${prefix},mode=max`)])
        assert.equal(r1.code, 0, r1.stderr)
        // the layer of the final stage's `RUN head -c 200000 /dev/urandom` (random bytes do not compress)
        const victim = (await list(`${prefix}blobs/`)).find((o) => o.size > 200_000 && o.size < 210_000)
        assert.ok(victim, 'the 200 kB layer is in the bucket')
        await damage(victim.key)
        const digest = victim.key.slice(`${prefix}blobs/sha256:`.length)
        const r2 = await build(await fresh(), `fault2-${what}`, ['--cache-from', spec(`,prefix=${prefix}`)])
        assert.equal(r2.code, 0, r2.stderr)
        assert.match(r2.stderr, new RegExp(`WARNING.*${digest.slice(0, 12)}`))
        assert.ok(!hasStackTrace(r2.stderr), r2.stderr)
        const ran = ranSteps(await steps(join(work, `fault2-${what}.json`)))
        assert.ok(
          ran.some((n) => /RUN head -c 200000/.test(n)),
          `the step whose blob is broken runs: ${ran.join(', ')}`,
        )
        assert.ok(!ran.some((n) => /RUN head -c 1000000/.test(n)), `the other steps still hit: ${ran.join(', ')}`)
      })
    }
  })
})

// `--cache-to/--cache-from type=azblob` end to end: real cairn builds against Azurite on 127.0.0.1.
import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { rm } from 'node:fs/promises'
import { join } from 'node:path'
import { after, before, describe, it } from 'node:test'
import { BlobServiceClient, StorageSharedKeyCredential } from '@azure/storage-blob'
import { buildBaseImage, cairn, hasStackTrace, missingPrerequisite, readJSON, steps, tempDir, writeTree } from '../helpers/cairn.ts'
import { type AzuriteHandle, startAzurite } from '../services/azurite.ts'
import { CACHE_DOCKERFILE, ranSteps, sha256File } from '../helpers/cache-fixture.ts'

const skip = await missingPrerequisite(['runc'])

const DOCKERFILE = CACHE_DOCKERFILE

const sha = sha256File

describe('type=azblob cache through the CLI (Azurite)', { skip }, () => {
  let az: AzuriteHandle
  let svc: BlobServiceClient
  let ctx = ''
  let work = ''
  const roots: string[] = []

  before(async () => {
    az = await startAzurite()
    svc = new BlobServiceClient(az.accountUrl, new StorageSharedKeyCredential(az.accountName, az.accountKey))
    ctx = await tempDir('azctx')
    work = await tempDir('azwork')
    await writeTree(ctx, { Dockerfile: DOCKERFILE, 'src/a.txt': 'a\n', 'src/b.txt': 'b\n' })
  })
  after(async () => {
    await az?.stop()
    for (const d of [ctx, work, ...roots]) await rm(d, { recursive: true, force: true })
  })

  const fresh = async () => {
    const r = await tempDir('azroot')
    roots.push(r)
    await buildBaseImage(r)
    return r
  }
  // No account_name: cairn derives it from the path-style emulator URL.
  const spec = (container: string, extra = '') => `type=azblob,account_url=${az.accountUrl},secret_access_key=${az.accountKey},container=${container}${extra}`
  const build = (root: string, name: string, extra: string[], env: NodeJS.ProcessEnv = {}) =>
    cairn(
      root,
      ['build', '--progress=plain', '--metadata-file', join(work, `${name}.json`), '-o', `type=oci,dest=${join(work, `${name}.tar`)}`, ...extra, ctx],
      env,
    )
  const list = async (container: string, prefix = '') => {
    const out: { name: string; size: number }[] = []
    for await (const b of svc.getContainerClient(container).listBlobsFlat({ prefix })) out.push({ name: b.name, size: b.properties.contentLength ?? 0 })
    return out
  }
  const newContainer = () => `cairn-${randomBytes(4).toString('hex')}`

  it('mode=max into a container that does not exist yet: created; a fresh machine runs no RUN or COPY step, byte-identical image', async (t) => {
    const container = newContainer()
    assert.equal(await svc.getContainerClient(container).exists(), false)
    const t0 = performance.now()
    const r1 = await build(await fresh(), 'rt1', ['--cache-to', spec(container, ',mode=max')])
    assert.equal(r1.code, 0, r1.stderr)
    assert.equal(await svc.getContainerClient(container).exists(), true, 'the export created the container')
    const t1 = performance.now()
    const r2 = await build(await fresh(), 'rt2', ['--cache-from', spec(container)])
    assert.equal(r2.code, 0, r2.stderr)
    t.diagnostic(`export build ${Math.round(t1 - t0)} ms, import build ${Math.round(performance.now() - t1)} ms (each including a fresh base image)`)
    assert.deepEqual(ranSteps(await steps(join(work, 'rt2.json'))), [], 'no RUN or COPY step may run')
    assert.equal(await sha(join(work, 'rt2.tar')), await sha(join(work, 'rt1.tar')), 'byte-identical image')
    const names = (await list(container)).map((b) => b.name)
    assert.ok(names.includes('manifests/buildkit'), names.join(' '))
    assert.ok(names.filter((n) => n.startsWith('blobs/')).every((n) => /^blobs\/sha256:[0-9a-f]{64}$/.test(n)))

    // a second export of the unchanged cache uploads no blob
    const before = await list(container, 'blobs/')
    const r3 = await build(await fresh(), 'again', ['--cache-from', spec(container), '--cache-to', spec(container, ',mode=max')])
    assert.equal(r3.code, 0, r3.stderr)
    const md = await readJSON<{ 'cairn.cache.exports': Record<string, { uploaded: number }> }>(join(work, 'again.json'))
    assert.deepEqual(
      Object.values(md['cairn.cache.exports']).map((x) => x.uploaded),
      [0],
    )
    assert.deepEqual(await list(container, 'blobs/'), before)
  })

  it('an import of a container that does not exist is an empty cache with a warning', async () => {
    const r = await build(await fresh(), 'nocontainer', ['--cache-from', spec(newContainer())])
    assert.equal(r.code, 0, r.stderr)
    assert.match(r.stderr, /WARNING/)
    assert.ok(!hasStackTrace(r.stderr), r.stderr)
  })

  it('name=a;b: export writes both, each is importable; import loads and merges every name', async () => {
    const container = newContainer()
    const r1 = await build(await fresh(), 'names1', ['--cache-to', spec(container, ',name=main;pr-7,mode=max')])
    assert.equal(r1.code, 0, r1.stderr)
    assert.deepEqual((await list(container, 'manifests/')).map((b) => b.name).sort(), ['manifests/main', 'manifests/pr-7'])
    for (const name of ['main', 'pr-7', 'nothing;main']) {
      const r = await build(await fresh(), `names-${name}`, ['--cache-from', spec(container, `,name=${name}`)])
      assert.equal(r.code, 0, r.stderr)
      assert.deepEqual(ranSteps(await steps(join(work, `names-${name}.json`))), [], `import of name=${name}`)
    }
    // two names holding different parts of the build (the build stage, the final stage) merge
    const root = await fresh()
    const a = await cairn(root, ['build', '--progress=plain', '--target', 'build', '--cache-to', spec(container, ',name=stage-build,mode=max'), ctx])
    assert.equal(a.code, 0, a.stderr)
    const b = await build(root, 'stage-final', ['--cache-to', spec(container, ',name=stage-final,mode=min')])
    assert.equal(b.code, 0, b.stderr)
    const m = await build(await fresh(), 'merged', ['--target', 'build', '--cache-from', spec(container, ',name=stage-final;stage-build')])
    assert.equal(m.code, 0, m.stderr)
    assert.deepEqual(ranSteps(await steps(join(work, 'merged.json'))), [], 'the build stage comes from the second name')
  })

  it('prefix, blobs_prefix and manifests_prefix are path-joined as BuildKit does; env supplies account URL and credentials', async () => {
    const container = newContainer()
    const p = ',prefix=team/app/,blobs_prefix=/layers,manifests_prefix=index,name=v1'
    const r1 = await build(await fresh(), 'pfx1', ['--cache-to', spec(container, `${p},mode=max`)])
    assert.equal(r1.code, 0, r1.stderr)
    const names = (await list(container)).map((b) => b.name)
    assert.ok(names.includes('team/app/index/v1'), names.join(' '))
    const blobs = names.filter((n) => n !== 'team/app/index/v1')
    assert.ok(blobs.length >= 4 && blobs.every((n) => /^team\/app\/layers\/sha256:[0-9a-f]{64}$/.test(n)), blobs.join(' '))
    // account URL, container and prefix from $BUILDKIT_AZURE_STORAGE_*, the key from a connection string
    const env = {
      BUILDKIT_AZURE_STORAGE_ACCOUNT_URL: az.accountUrl,
      BUILDKIT_AZURE_STORAGE_CONTAINER: container,
      BUILDKIT_AZURE_STORAGE_PREFIX: 'team/app',
      AZURE_STORAGE_CONNECTION_STRING: az.connectionString,
    }
    const r2 = await build(await fresh(), 'pfx2', ['--cache-from', 'type=azblob,blobs_prefix=layers,manifests_prefix=index,name=v1'], env)
    assert.equal(r2.code, 0, r2.stderr)
    assert.deepEqual(ranSteps(await steps(join(work, 'pfx2.json'))), [])
  })

  it('a deleted layer blob is a miss with a warning naming it; the build succeeds and reruns the step', async () => {
    const container = newContainer()
    const r1 = await build(await fresh(), 'fault1', ['--cache-to', spec(container, ',mode=max')])
    assert.equal(r1.code, 0, r1.stderr)
    const victim = (await list(container, 'blobs/')).find((b) => b.size > 200_000 && b.size < 210_000)
    assert.ok(victim, 'the 200 kB layer is in the container')
    await svc.getContainerClient(container).deleteBlob(victim.name)
    const r2 = await build(await fresh(), 'fault2', ['--cache-from', spec(container)])
    assert.equal(r2.code, 0, r2.stderr)
    assert.match(r2.stderr, new RegExp(`WARNING.*${victim.name.slice('blobs/sha256:'.length, 'blobs/sha256:'.length + 12)}`))
    const ran = ranSteps(await steps(join(work, 'fault2.json')))
    assert.ok(
      ran.some((n) => /RUN head -c 200000/.test(n)),
      ran.join(', '),
    )
  })

  it('a wrong account key fails the export without printing the key', async () => {
    const wrong = Buffer.from('not-the-key-not-the-key-not-the-key').toString('base64')
    const r = await cairn(await fresh(), [
      'build',
      '--progress=plain',
      '--cache-to',
      `type=azblob,account_url=${az.accountUrl},secret_access_key=${wrong},container=${newContainer()}`,
      ctx,
    ])
    assert.notEqual(r.code, 0)
    assert.match(r.stderr, /ERROR: failed to export cache to azblob:/)
    assert.ok(!r.stderr.includes(wrong), 'the key is not printed')
    assert.ok(!hasStackTrace(r.stderr), r.stderr)
  })
})

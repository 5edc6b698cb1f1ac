import assert from 'node:assert/strict'
import { readdir, readFile, rm, stat, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { after, before, describe, it } from 'node:test'
import { gunzipSync } from 'node:zlib'
import { buildBaseImage, cairn, hasStackTrace, missingPrerequisite, run, steps, tempDir, writeTree } from '../helpers/cairn.ts'
import { haveDockerRegistry, type RunningRegistry, startRegistry } from '../services/registry.ts'

const skip = await missingPrerequisite(['runc'])

const FILE_SECRET = 'file-secret-Z9q7Xk2vLm4'
const ENV_SECRET = 'env-secret-Hh3Jd8Pq1Rt'
const REG_PASSWORD_MARK = 'registry password'

const READS = `FROM test/base:1
RUN --mount=type=secret,id=x cat /run/secrets/x; echo; stat -c 'mode=%a uid=%u' /run/secrets/x
RUN --mount=type=secret,id=tok,env=TOK,required=true echo "tok=$TOK" && test -n "$TOK" && test ! -e /run/secrets/tok
RUN --mount=type=secret,id=x,target=/etc/app/key,mode=0440 cat /etc/app/key > /dev/null && echo built > /built
`
const LEAKS = `FROM test/base:1
RUN echo first > /first
RUN --mount=type=secret,id=x cp /run/secrets/x /leak
`

/** Every file under `dir`, recursively. */
async function files(dir: string): Promise<string[]> {
  const out: string[] = []
  const entries = await readdir(dir, { withFileTypes: true }).catch(() => [])
  for (const e of entries) {
    const p = join(dir, e.name)
    if (e.isDirectory()) out.push(...(await files(p)))
    else if (e.isFile()) out.push(p)
  }
  return out
}

/** The bytes as they are and, for gzip blobs, decompressed. */
function views(b: Buffer): Buffer[] {
  if (b[0] === 0x1f && b[1] === 0x8b) {
    try {
      return [b, gunzipSync(b)]
    } catch {
      return [b]
    }
  }
  return [b]
}

/** Paths (and labels) whose contents hold any of the values. */
async function occurrences(paths: readonly string[], values: readonly string[]): Promise<string[]> {
  const hits: string[] = []
  for (const p of paths) {
    const st = await stat(p).catch(() => undefined)
    if (!st?.isFile()) continue
    for (const v of views(await readFile(p))) for (const s of values) if (v.includes(s)) hits.push(`${p} contains the value of ${s === FILE_SECRET ? 'x' : s === ENV_SECRET ? 'tok' : REG_PASSWORD_MARK}`)
  }
  return hits
}

describe('build secrets', { skip }, () => {
  let root = ''
  let work = ''
  let secretFile = ''
  const env = { TOKEN_FOR_BUILD: ENV_SECRET, SOURCE_DATE_EPOCH: '1700000000' }
  before(async () => {
    root = await tempDir('secrets-root')
    work = await tempDir('secrets-work')
    await buildBaseImage(root)
    secretFile = join(work, 'x.secret')
    await writeFile(secretFile, FILE_SECRET)
    await writeTree(join(work, 'reads'), { Dockerfile: READS })
    await writeTree(join(work, 'leaks'), { Dockerfile: LEAKS })
  })
  after(async () => {
    for (const d of [root, work]) await rm(d, { recursive: true, force: true })
  })
  const secretFlags = () => ['--secret', `id=x,src=${secretFile}`, '--secret', 'id=tok,env=TOKEN_FOR_BUILD']

  it('RUN steps read file and env secrets; no layer, config, cache, file under --root, metadata or progress output holds a value', async () => {
    const outputs: string[] = []
    for (const progress of ['plain', 'rawjson']) {
      const meta = join(work, `reads-${progress}.json`)
      const r = await cairn(
        root,
        ['build', `--progress=${progress}`, '--no-cache', '--metadata-file', meta, ...secretFlags(), '-o', `type=oci,dest=${join(work, `reads-${progress}.tar`)}`, '--cache-to', `type=local,dest=${join(work, `cache-${progress}`)},mode=max`, join(work, 'reads')],
        env,
      )
      assert.equal(r.code, 0, r.stderr)
      outputs.push(r.stdout + r.stderr)
      if (progress === 'plain') {
        assert.match(r.stderr, /#\d+ [\d.]+ \*\*\*\n/, 'cat /run/secrets/x shows *** in the progress output')
        assert.match(r.stderr, /mode=400 uid=0/)
        assert.match(r.stderr, /tok=\*\*\*/)
      } else {
        const logs = r.stderr
          .trim()
          .split('\n')
          .flatMap((l) => ((JSON.parse(l) as { logs?: { data: string }[] }).logs ?? []).map((x) => Buffer.from(x.data, 'base64').toString()))
          .join('')
        assert.match(logs, /\*\*\*/)
        assert.ok(!logs.includes(FILE_SECRET) && !logs.includes(ENV_SECRET))
      }
    }
    for (const o of outputs) assert.ok(!o.includes(FILE_SECRET) && !o.includes(ENV_SECRET), 'progress output')
    // the OCI archives: unpack and search every blob (layers decompressed, configs, manifests)
    const unpacked = join(work, 'unpacked')
    for (const progress of ['plain', 'rawjson']) {
      const dir = join(unpacked, progress)
      await run('mkdir', ['-p', dir])
      const t = await run('tar', ['-xf', join(work, `reads-${progress}.tar`), '-C', dir])
      assert.equal(t.code, 0, t.stderr)
    }
    const all = [...(await files(unpacked)), ...(await files(join(work, 'cache-plain'))), ...(await files(join(work, 'cache-rawjson'))), ...(await files(root)), join(work, 'reads-plain.json'), join(work, 'reads-rawjson.json')]
    assert.ok(all.length > 20)
    assert.deepEqual(await occurrences(all, [FILE_SECRET, ENV_SECRET]), [])
    // the layer really was built (the third step wrote /built)
    assert.ok((await steps(join(work, 'reads-plain.json'))).some((s) => /echo built/.test(s.name)))
  })

  it('changing a secret value does not rerun the steps that use it (the value is not in the cache key)', async () => {
    const first = await cairn(root, ['build', '--progress=plain', '--metadata-file', join(work, 'v1.json'), ...secretFlags(), join(work, 'reads')], env)
    assert.equal(first.code, 0, first.stderr)
    await writeFile(secretFile, 'a-completely-different-value')
    try {
      const r = await cairn(root, ['build', '--progress=plain', '--metadata-file', join(work, 'v2.json'), ...secretFlags(), join(work, 'reads')], { ...env, TOKEN_FOR_BUILD: 'another-token-value' })
      assert.equal(r.code, 0, r.stderr)
      const ran = (await steps(join(work, 'v2.json'))).filter((s) => !s.cached && /RUN/.test(s.name))
      assert.deepEqual(ran, [])
    } finally {
      await writeFile(secretFile, FILE_SECRET)
    }
  })

  it('a RUN that copies a secret into the image fails the build, naming the step and the id; nothing is exported', async () => {
    const tar = join(work, 'leak.tar')
    const cache = join(work, 'leak-cache')
    const r = await cairn(root, ['build', '--progress=plain', '--secret', `id=x,src=${secretFile}`, '-o', `type=oci,dest=${tar}`, '--cache-to', `type=local,dest=${cache},mode=max,ignore-error=true`, join(work, 'leaks')], env)
    assert.equal(r.code, 1, r.stderr)
    assert.match(r.stderr, /ERROR: secret "x" was found in the layer made by Dockerfile:3 \(.*RUN --mount=type=secret,id=x cp \/run\/secrets\/x \/leak\)/)
    assert.match(r.stderr, /--allow-secret-in-layer=x/)
    assert.ok(!r.stderr.includes(FILE_SECRET))
    assert.ok(!hasStackTrace(r.stderr))
    await assert.rejects(stat(tar), 'no OCI archive')
    assert.deepEqual(await files(cache), [], 'no cache written')
    // the leaking layer is not kept under --root either
    assert.deepEqual(await occurrences(await files(root), [FILE_SECRET]), [])
    // cache-only export fails the same way, even with ignore-error=true
    const c = await cairn(root, ['build', '--progress=plain', '--secret', `id=x,src=${secretFile}`, '--cache-to', `type=local,dest=${cache},ignore-error=true`, join(work, 'leaks')], env)
    assert.equal(c.code, 1, c.stderr)
    assert.match(c.stderr, /secret "x" was found/)
    assert.deepEqual(await files(cache), [])
  })

  it('--allow-secret-in-layer=ID exports the layer with a warning', async () => {
    const tar = join(work, 'allowed.tar')
    const r = await cairn(root, ['build', '--progress=plain', '--secret', `id=x,src=${secretFile}`, '--allow-secret-in-layer=x', '-o', `type=oci,dest=${tar}`, join(work, 'leaks')], env)
    assert.equal(r.code, 0, r.stderr)
    assert.match(r.stderr, /WARNING: SecretInLayer: secret "x" is in the layer made by Dockerfile:3/)
    assert.ok((await stat(tar)).size > 0)
  })

  it('a layer transcoded by this build (blob packed by an earlier build without the secret) is scanned too', async () => {
    const r0 = await tempDir('secrets-transcode')
    try {
      await buildBaseImage(r0)
      const ctx = join(work, 'baked')
      await writeTree(ctx, { Dockerfile: `FROM test/base:1\nRUN echo ${FILE_SECRET} > /baked\n` })
      const a = await cairn(r0, ['build', '--progress=plain', '-o', `type=oci,dest=${join(work, 'baked.tar')}`, ctx], env)
      assert.equal(a.code, 0, a.stderr)
      const cache = join(work, 'baked-cache')
      const b = await cairn(r0, ['build', '--progress=plain', '--secret', `id=x,src=${secretFile}`, '--cache-to', `type=local,dest=${cache},compression=zstd`, ctx], env)
      assert.equal(b.code, 1, b.stderr)
      assert.match(b.stderr, /secret "x" was found in the layer made by/)
      assert.deepEqual(await files(cache), [])
    } finally {
      await rm(r0, { recursive: true, force: true })
    }
  })

  it('a missing required secret names the id and the flag to add; build-arg and ARG warnings name no value', async () => {
    const r = await cairn(root, ['build', '--progress=plain', '--no-cache', '--secret', `id=x,src=${secretFile}`, join(work, 'reads')], env)
    assert.equal(r.code, 1)
    assert.match(r.stderr, /Dockerfile:3: secret "tok" is required \(required=true\) but the build was not given it/)
    assert.match(r.stderr, /hint: pass it to the build: --secret id=tok,src=<file> or --secret id=tok,env=<VARIABLE>/)
    const ctx = join(work, 'args')
    await writeTree(ctx, { Dockerfile: 'FROM test/base:1\nARG API_TOKEN\nRUN --mount=type=secret,id=x true\n' })
    const w = await cairn(root, ['build', '--progress=plain', '--secret', `id=x,src=${secretFile}`, '--build-arg', `API_TOKEN=${FILE_SECRET}`, '--secret', 'id=pin,env=PIN', ctx], { ...env, PIN: '12' })
    assert.equal(w.code, 0, w.stderr)
    assert.equal(w.stderr.match(/SecretsUsedInArgOrEnv/g)?.length, 1, 'the ARG check is shown once')
    assert.match(w.stderr, /WARNING: SecretInBuildArg: --build-arg API_TOKEN has the value of secret "x"/)
    assert.match(w.stderr, /WARNING: SecretTooShort: secret "pin" is shorter than 4 bytes/)
    assert.ok(!w.stderr.includes(FILE_SECRET))
  })

  describe('registry cache export with htpasswd auth', { skip: haveDockerRegistry() ? undefined : 'needs docker-registry (apt-get install -y docker-registry)' }, () => {
    let reg: RunningRegistry | undefined
    // a root of its own: earlier tests put the value into layers on purpose (--allow-secret-in-layer, a build arg)
    let regRoot = ''
    before(async () => {
      regRoot = await tempDir('secrets-reg-root')
      await buildBaseImage(regRoot)
      reg = await startRegistry({ auth: 'htpasswd', users: { cairn: 'reg-pass-Qw8Er5Ty' } })
      await writeFile(join(work, 'docker-config.json'), JSON.stringify({ auths: { [reg.host]: { auth: Buffer.from('cairn:reg-pass-Qw8Er5Ty').toString('base64') } } }))
      await run('mkdir', ['-p', join(work, 'docker')])
      await run('cp', [join(work, 'docker-config.json'), join(work, 'docker', 'config.json')])
    })
    after(async () => {
      await reg?.stop()
      await rm(regRoot, { recursive: true, force: true })
    })
    it('the cache blobs, cache config and output hold neither the secrets nor the registry password', async () => {
      const host = reg?.host as string
      const meta = join(work, 'reg.json')
      const r = await cairn(regRoot, ['build', '--progress=rawjson', '--metadata-file', meta, ...secretFlags(), '--cache-to', `type=registry,ref=${host}/test/cache:1,mode=max`, join(work, 'reads')], {
        ...env,
        DOCKER_CONFIG: join(work, 'docker'),
      })
      assert.equal(r.code, 0, r.stderr)
      const secrets = [FILE_SECRET, ENV_SECRET, 'reg-pass-Qw8Er5Ty']
      for (const s of secrets) assert.ok(!(r.stdout + r.stderr).includes(s))
      const auth = `Basic ${Buffer.from('cairn:reg-pass-Qw8Er5Ty').toString('base64')}`
      const get = async (path: string, accept?: string) => {
        const res = await fetch(`http://${host}/v2/test/cache/${path}`, { headers: { authorization: auth, ...(accept ? { accept } : {}) } })
        assert.equal(res.status, 200, path)
        return Buffer.from(await res.arrayBuffer())
      }
      const manifest = await get('manifests/1', 'application/vnd.oci.image.index.v1+json,application/vnd.oci.image.manifest.v1+json')
      const doc = JSON.parse(manifest.toString()) as { manifests?: { digest: string }[]; layers?: { digest: string }[]; config?: { digest: string } }
      const digests = [...(doc.manifests ?? []), ...(doc.layers ?? []), ...(doc.config ? [doc.config] : [])].map((d) => d.digest)
      assert.ok(digests.length > 1)
      for (const buf of [manifest, ...(await Promise.all(digests.map((d) => get(`blobs/${d}`))))]) for (const v of views(buf)) for (const s of secrets) assert.ok(!v.includes(s), 'registry blob holds a secret')
      assert.deepEqual(await occurrences([meta, ...(await files(regRoot))], secrets), [])
    })
  })
})

import assert from 'node:assert/strict'
import { createHash } from 'node:crypto'
import { copyFile, mkdir, readFile, rm, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { after, before, describe, it } from 'node:test'
import { haveDockerRegistry, type RunningRegistry, startRegistry } from '../services/registry.ts'
import { cairn, hasStackTrace, missingPrerequisite, readJSON, run, steps, tempDir, writeTree } from '../helpers/cairn.ts'

const skip = (await missingPrerequisite(['runc', 'skopeo'])) ?? (haveDockerRegistry() ? undefined : 'needs docker-registry (apt-get install -y docker-registry)')

const APP = (host: string) => `FROM ${host}/test/base:1.0
COPY app.txt /app/app.txt
RUN head -c 300000 /dev/urandom > /app/random && cat /app/app.txt > /app/copy
RUN echo second > /app/second
CMD ["cat", "/app/copy"]
`

/** The layer digests of a local cache's `latest` manifest, each checked to be in the layout whole. */
async function cacheLayers(dir: string): Promise<string[]> {
  const index = await readJSON<{ manifests: { digest: string }[] }>(join(dir, 'index.json'))
  const blob = (d: string) => join(dir, 'blobs', 'sha256', d.slice(7))
  const manifest = await readJSON<{ layers: { digest: string; size: number }[] }>(blob(index.manifests[0]?.digest ?? ''))
  for (const l of manifest.layers) {
    const bytes = await readFile(blob(l.digest))
    assert.equal(bytes.length, l.size, `${l.digest}: size`)
    assert.equal(`sha256:${createHash('sha256').update(bytes).digest('hex')}`, l.digest, `${l.digest}: content`)
  }
  return manifest.layers.map((l) => l.digest)
}

for (const auth of ['none', 'htpasswd', 'token'] as const) {
  describe(`registry (${auth} auth): FROM a registry image, --push, registry and inline caches`, { skip }, () => {
    let reg: RunningRegistry
    let work: string
    let dockerConfig: string
    const env: NodeJS.ProcessEnv = {}
    const roots: string[] = []
    const root = async () => {
      const r = await tempDir('regroot')
      roots.push(r)
      return r
    }
    const skopeoCreds = () => (auth === 'none' ? [] : ['--creds', `cairn:${reg.users.cairn}`])

    before(async () => {
      reg = await startRegistry({ auth, counting: true })
      work = await tempDir('regwork')
      dockerConfig = join(work, 'docker')
      await mkdir(dockerConfig)
      const users = reg.users
      if (auth !== 'none') {
        const token = Buffer.from(`cairn:${users.cairn}`).toString('base64')
        await writeFile(join(dockerConfig, 'config.json'), JSON.stringify({ auths: { [reg.host]: { auth: token } } }))
      }
      env.DOCKER_CONFIG = dockerConfig
      env.SOURCE_DATE_EPOCH = '1700000000'
      const base = join(work, 'base')
      await mkdir(base)
      await copyFile('/bin/busybox', join(base, 'busybox'))
      await writeFile(join(base, 'Dockerfile'), 'FROM scratch\nCOPY busybox /bin/busybox\nRUN ["/bin/busybox", "--install", "-s", "/bin"]\n')
      await writeTree(join(work, 'app'), { Dockerfile: APP(reg.host), 'app.txt': 'hello from the app\n' })
    })
    after(async () => {
      await reg?.stop()
      for (const d of [work, ...roots]) await rm(d, { recursive: true, force: true })
    })

    const build = (r: string, name: string, args: string[]) =>
      cairn(r, ['build', '--progress=plain', '--metadata-file', join(work, `${name}.json`), ...args], env)

    it('pushes a base image, builds FROM it on a fresh machine, pushes the result; skopeo reads it back', async () => {
      const b = await build(await root(), 'base', ['-t', `${reg.host}/test/base:1.0`, '--push', join(work, 'base')])
      assert.equal(b.code, 0, b.stderr)
      const r = await build(await root(), 'app1', ['-t', `${reg.host}/team/app:1`, '--push', join(work, 'app')])
      assert.equal(r.code, 0, r.stderr)
      const meta = await readJSON(join(work, 'app1.json'))
      const inspect = await run('skopeo', ['inspect', '--tls-verify=false', ...skopeoCreds(), `docker://${reg.host}/team/app:1`])
      assert.equal(inspect.code, 0, inspect.stderr)
      const info = JSON.parse(inspect.stdout) as { Digest: string; Layers: string[] }
      assert.equal(info.Digest, meta['containerimage.digest'])
      assert.equal(info.Layers.length, 5)
      // the base layers were mounted from test/base, not uploaded again
      // a mount is a POST to blobs/uploads/ answered 201 (an upload session would be 202)
      const mounts = reg.requests.filter((q) => q.method === 'POST' && q.path.endsWith('/team/app/blobs/uploads/') && q.status === 201)
      assert.ok(mounts.length >= 2, `expected cross-repository mounts, saw ${mounts.length}`)
    })

    it('a second push of the same image uploads no blob bytes', async () => {
      const r0 = await root()
      const before = reg.uploadBytes()
      const r = await build(r0, 'app2', ['-t', `${reg.host}/team/app:1`, '--push', join(work, 'app')])
      assert.equal(r.code, 0, r.stderr)
      // a fresh root rebuilds everything, which gives new random bytes: push that once, then again
      const mid = reg.uploadBytes()
      assert.ok(mid > before)
      const again = await build(r0, 'app3', ['-t', `${reg.host}/team/app:1`, '--push', join(work, 'app')])
      assert.equal(again.code, 0, again.stderr)
      assert.equal(reg.uploadBytes(), mid, 'the second push uploads nothing')
    })

    it('type=registry cache: a fresh machine gets every step from the registry and the same image', async () => {
      const ref = `${reg.host}/team/cache:buildcache`
      const r1 = await build(await root(), 'rc1', ['-o', `type=oci,dest=${join(work, 'rc1.tar')}`, '--cache-to', `type=registry,ref=${ref},mode=max`, join(work, 'app')])
      assert.equal(r1.code, 0, r1.stderr)
      const raw = await run('skopeo', ['inspect', '--raw', '--tls-verify=false', ...skopeoCreds(), `docker://${ref}`])
      assert.equal(raw.code, 0, raw.stderr)
      assert.equal(JSON.parse(raw.stdout).config.mediaType, 'application/vnd.buildkit.cacheconfig.v0')
      const r2 = await build(await root(), 'rc2', ['-o', `type=oci,dest=${join(work, 'rc2.tar')}`, '--cache-from', ref, join(work, 'app')])
      assert.equal(r2.code, 0, r2.stderr)
      assert.deepEqual((await steps(join(work, 'rc2.json'))).filter((s) => !s.cached && /RUN|COPY/.test(s.name)).map((s) => s.name), [])
      assert.equal((await readJSON(join(work, 'rc2.json')))['containerimage.digest'], (await readJSON(join(work, 'rc1.json')))['containerimage.digest'])
      // one context file changed: only the steps that depend on it run
      await writeFile(join(work, 'app', 'app.txt'), 'changed\n')
      try {
        const r3 = await build(await root(), 'rc3', ['--cache-from', ref, join(work, 'app')])
        assert.equal(r3.code, 0, r3.stderr)
        const ran = (await steps(join(work, 'rc3.json'))).filter((s) => !s.cached && /RUN|COPY/.test(s.name)).map((s) => s.name.replace(/^\[[^\]]+\] /, ''))
        assert.deepEqual(ran, ['COPY app.txt /app/app.txt', 'RUN head -c 300000 /dev/urandom > /app/random && cat /app/app.txt > /app/copy', 'RUN echo second > /app/second'])
      } finally {
        await writeFile(join(work, 'app', 'app.txt'), 'hello from the app\n')
      }
    })

    it('type=inline: the pushed image carries its cache, and --cache-from IMAGE reuses it', async () => {
      const image = `${reg.host}/team/app:inline`
      const r1 = await build(await root(), 'in1', ['-t', image, '--push', '--cache-to', 'type=inline', join(work, 'app')])
      assert.equal(r1.code, 0, r1.stderr)
      const cfg = await run('skopeo', ['inspect', '--config', '--raw', '--tls-verify=false', ...skopeoCreds(), `docker://${image}`])
      assert.equal(cfg.code, 0, cfg.stderr)
      assert.ok(JSON.parse(cfg.stdout)['moby.buildkit.cache.v0'], 'the image config holds moby.buildkit.cache.v0')
      const r2 = await build(await root(), 'in2', ['-t', image, '--cache-from', `type=registry,ref=${image}`, join(work, 'app')])
      assert.equal(r2.code, 0, r2.stderr)
      assert.deepEqual((await steps(join(work, 'in2.json'))).filter((s) => !s.cached && /RUN|COPY/.test(s.name)).map((s) => s.name), [])
    })

    it('a base image pulled by an earlier build is exported by a later one (mode=max local cache) without the registry', async () => {
      const r0 = await root()
      const first = await build(r0, 'pull1', ['-t', 'local/app:1', join(work, 'app')])
      assert.equal(first.code, 0, first.stderr)
      const later = join(work, 'later')
      await writeTree(later, { Dockerfile: 'FROM local/app:1\nRUN echo later > /later\n' })
      const inspect = await run('skopeo', ['inspect', '--tls-verify=false', ...skopeoCreds(), `docker://${reg.host}/test/base:1.0`])
      assert.equal(inspect.code, 0, inspect.stderr)
      const baseLayers = (JSON.parse(inspect.stdout) as { Layers: string[] }).Layers
      const fetched = () => reg.requests.filter((q) => q.method === 'GET' && q.path.includes('/blobs/sha256:')).length

      // the pull kept the base's blobs: the export hard-links them, the registry is not asked
      const before = fetched()
      const dest = join(work, 'later-cache')
      const r = await build(r0, 'later1', ['--cache-to', `type=local,dest=${dest},mode=max`, later])
      assert.equal(r.code, 0, r.stderr)
      assert.equal(fetched(), before, 'no blob is downloaded again')
      const layers = await cacheLayers(dest)
      for (const d of baseLayers) assert.ok(layers.includes(d), `the cache holds the registry's own blob ${d}`)

      // a root that holds no copy of them (made before cairn kept pulled blobs): the layers are packed again
      for (const d of baseLayers) await rm(join(r0, 'content', 'blobs', 'sha256', d.slice(7)), { force: true })
      const dest2 = join(work, 'later-cache2')
      const again = await build(r0, 'later2', ['--cache-to', `type=local,dest=${dest2},mode=max`, later])
      assert.equal(again.code, 0, again.stderr)
      assert.equal((await cacheLayers(dest2)).length, layers.length)

      // a push needs no bytes for them: it mounts them from the repository they were pulled from
      for (const d of baseLayers) await rm(join(r0, 'content', 'blobs', 'sha256', d.slice(7)), { force: true })
      const pushed = await build(r0, 'later3', ['-t', `${reg.host}/team/later:1`, '--push', later])
      assert.equal(pushed.code, 0, pushed.stderr)
      const mounts = reg.requests.filter((q) => q.method === 'POST' && q.path.endsWith('/team/later/blobs/uploads/') && q.status === 201)
      assert.ok(mounts.length >= baseLayers.length, `the base layers are mounted, saw ${mounts.length} mounts`)
      const pushedLayers = JSON.parse((await run('skopeo', ['inspect', '--tls-verify=false', ...skopeoCreds(), `docker://${reg.host}/team/later:1`])).stdout) as { Layers: string[] }
      assert.deepEqual(pushedLayers.Layers.slice(0, baseLayers.length), baseLayers)
    })

    if (auth !== 'none') {
      it('wrong credentials: one clear message, without the password', async () => {
        const bad = join(work, 'bad-docker')
        await mkdir(bad, { recursive: true })
        await writeFile(join(bad, 'config.json'), JSON.stringify({ auths: { [reg.host]: { auth: Buffer.from('cairn:wrong-secret-123').toString('base64') } } }))
        const r = await cairn(await root(), ['build', '--progress=plain', join(work, 'app')], { ...env, DOCKER_CONFIG: bad })
        assert.notEqual(r.code, 0)
        assert.match(r.stderr, /ERROR: .*(401|auth|denied|unauthorized)/i)
        assert.doesNotMatch(r.stderr, /wrong-secret-123/)
        assert.ok(!hasStackTrace(r.stderr), r.stderr)
      })
    }
  })
}

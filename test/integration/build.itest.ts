import assert from 'node:assert/strict'
import { readdir, readFile, rm, stat, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { after, before, describe, it } from 'node:test'
import { buildBaseImage, cairn, hasStackTrace, missingPrerequisite, readJSON, run, steps, tempDir, writeTree } from '../helpers/cairn.ts'

const skip = await missingPrerequisite(['runc', 'skopeo', 'umoci'])

const DOCKERFILE = `# every instruction of the build-engine issue
ARG BASE=test/base:1
ARG UNUSED_GLOBAL=x

FROM \${BASE} AS build
ARG GREETING=hello
ENV BUILD_DIR=/src
WORKDIR \${BUILD_DIR}
COPY src/ ./
COPY ["data/a.txt", "data/b.txt", "./data/"]
RUN mkdir -p /out && sed "s/@GREETING@/\${GREETING}/" greet.sh.in > /out/greet && chmod 0755 /out/greet
RUN ["/bin/sh", "-c", "cat /src/data/*.txt > /out/data.txt"]
RUN wc -c /src/lib/*.c > /out/sizes

FROM \${BASE} AS unused
RUN echo this stage must not be built && exit 1

FROM \${BASE}
LABEL org.example.title="cairn test" org.example.stage=final
ENV APP_HOME=/app PATH=/app/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
WORKDIR $APP_HOME
COPY --from=build /out/greet bin/greet
COPY --from=build /out/data.txt /out/sizes ./
COPY --chown=1000:1000 src/lib/*.c lib/
RUN mkdir -p /etc && echo 'app:x:1000:1000::/app:/bin/sh' >> /etc/passwd && echo 'app:x:1000:' >> /etc/group
USER app
EXPOSE 8080 9090/udp
ENTRYPOINT ["greet"]
CMD ["world"]
`

const CONTEXT: Record<string, string> = {
  Dockerfile: DOCKERFILE,
  '.dockerignore': '**/*.md\nsecret.txt\n',
  'src/greet.sh.in': '#!/bin/sh\necho "@GREETING@, ${1:-nobody}! $(cat /app/data.txt | tr -d "\\n")"\n',
  'src/lib/one.c': 'int one(void) { return 1; }\n',
  'src/lib/two.c': 'int two(void) { return 2; }\n',
  'src/lib/README.md': 'ignored by .dockerignore\n',
  'data/a.txt': 'alpha\n',
  'data/b.txt': 'beta\n',
  'secret.txt': 'must not reach the image\n',
}

describe('cairn build (engine)', { skip }, () => {
  let root: string
  let ctx: string
  let work: string
  before(async () => {
    root = await tempDir('root')
    ctx = await tempDir('ctx')
    work = await tempDir('work')
    await writeTree(ctx, CONTEXT)
    await buildBaseImage(root)
  })
  after(async () => {
    for (const d of [root, ctx, work]) await rm(d, { recursive: true, force: true })
  })

  const build = (extra: string[], md: string) =>
    cairn(root, ['build', '--progress=plain', '--metadata-file', md, '--build-arg', 'GREETING=howdy', ...extra, ctx])

  it('builds a multi-stage image that independent tools read and runc runs', async () => {
    const md = join(work, 'md1.json')
    const tar = join(work, 'image.tar')
    const r = await build(['-t', 'test/app:1', '-o', `type=oci,dest=${tar}`], md)
    assert.equal(r.code, 0, r.stderr)
    assert.doesNotMatch(r.stderr, /this stage must not be built/)
    const meta = await readJSON(md)
    assert.match(String(meta['containerimage.digest']), /^sha256:[a-f0-9]{64}$/)
    assert.match(String(meta['containerimage.config.digest']), /^sha256:[a-f0-9]{64}$/)
    assert.equal(meta['image.name'], 'docker.io/test/app:1')
    const names = (await steps(md)).map((s) => s.name)
    assert.ok(!names.some((n) => n.includes('[unused')), `unused stage was built: ${names.join('\n')}`)

    const inspect = await run('skopeo', ['inspect', `oci-archive:${tar}`])
    assert.equal(inspect.code, 0, inspect.stderr)
    const info = JSON.parse(inspect.stdout) as { Digest: string; Labels: Record<string, string>; Env: string[]; Layers: string[] }
    assert.equal(info.Digest, meta['containerimage.digest'])
    assert.equal(info.Labels['org.example.title'], 'cairn test')
    assert.ok(info.Env.includes('APP_HOME=/app'))

    const layout = join(work, 'layout')
    const copy = await run('skopeo', ['copy', `oci-archive:${tar}`, `oci:${layout}:app`])
    assert.equal(copy.code, 0, copy.stderr)
    const bundle = join(work, 'bundle')
    const unpack = await run('umoci', ['unpack', '--image', `${layout}:app`, bundle])
    assert.equal(unpack.code, 0, unpack.stderr)
    const cfgPath = join(bundle, 'config.json')
    const spec = await readJSON<{ process: { terminal: boolean; args: string[]; cwd: string; user: { uid: number } } }>(cfgPath)
    assert.deepEqual(spec.process.args, ['greet', 'world'])
    assert.equal(spec.process.cwd, '/app')
    assert.equal(spec.process.user.uid, 1000)
    spec.process.terminal = false
    await writeFile(cfgPath, JSON.stringify(spec))
    const rootfs = join(bundle, 'rootfs')
    assert.equal((await stat(join(rootfs, 'app/lib/one.c'))).uid, 1000)
    assert.deepEqual((await readdir(join(rootfs, 'app/lib'))).sort(), ['one.c', 'two.c'])
    await assert.rejects(stat(join(rootfs, 'src')), 'files of the build stage must not leak into the final stage')
    const out = await run('runc', ['run', '--bundle', bundle, `cairn-test-${process.pid}`])
    assert.equal(out.code, 0, out.stderr)
    assert.equal(out.stdout.trim(), 'howdy, world! alphabeta')

    const config = await readJSON<{ config: Record<string, unknown>; history: { empty_layer?: boolean }[]; rootfs: { diff_ids: string[] } }>(
      join(layout, 'blobs', 'sha256', String(meta['containerimage.config.digest']).slice(7)),
    )
    assert.deepEqual(config.config.ExposedPorts, { '8080/tcp': {}, '9090/udp': {} })
    assert.equal(config.config.User, 'app')
    assert.equal(config.config.WorkingDir, '/app')
    assert.deepEqual(config.config.Entrypoint, ['greet'])
    assert.equal(config.history.filter((h) => !h.empty_layer).length, config.rootfs.diff_ids.length)
    assert.equal(info.Layers.length, config.rootfs.diff_ids.length)
  })

  it('answers an identical rebuild from the cache with the same image digest', async () => {
    const md1 = join(work, 'md1.json')
    const md2 = join(work, 'md2.json')
    const r = await build(['-t', 'test/app:1', '-o', `type=oci,dest=${join(work, 'image2.tar')}`], md2)
    assert.equal(r.code, 0, r.stderr)
    const s = await steps(md2)
    assert.ok(s.length > 0)
    assert.deepEqual(s.filter((x) => !x.cached).map((x) => x.name), [], 'every step should be cached')
    assert.equal((await readJSON(md2))['containerimage.digest'], (await readJSON(md1))['containerimage.digest'])
    assert.deepEqual(await readFile(join(work, 'image.tar')), await readFile(join(work, 'image2.tar')))
  })

  it('reruns only the steps that depend on a changed context file', async () => {
    await writeFile(join(ctx, 'data/b.txt'), 'gamma\n')
    const md = join(work, 'md3.json')
    const r = await build(['-o', `type=oci,dest=${join(work, 'image3.tar')}`], md)
    assert.equal(r.code, 0, r.stderr)
    const all = await steps(md)
    const rerun = all.filter((x) => !x.cached).map((x) => x.name.replace(/^\[[^\]]+\] /, ''))
    // BuildKit's rule: the COPY whose source changed reruns, and so does every later step of its
    // stage; in the next stage a COPY --from whose copied files did not change is still a hit
    // (its content checksum matches), so only what really changed downstream reruns.
    assert.deepEqual(rerun, [
      'COPY data/a.txt data/b.txt ./data/',
      'RUN mkdir -p /out && sed "s/@GREETING@/${GREETING}/" greet.sh.in > /out/greet && chmod 0755 /out/greet',
      'RUN ["/bin/sh","-c","cat /src/data/*.txt > /out/data.txt"]',
      'RUN wc -c /src/lib/*.c > /out/sizes',
      'COPY --from=build /out/data.txt /out/sizes ./',
      'COPY --chown=1000:1000 src/lib/*.c lib/',
      "RUN mkdir -p /etc && echo 'app:x:1000:1000::/app:/bin/sh' >> /etc/passwd && echo 'app:x:1000:' >> /etc/group",
    ])
    assert.ok(all.some((x) => x.cached && x.name.endsWith('COPY --from=build /out/greet bin/greet')))
    // every rerun step says why it was not cached
    const reason = (suffix: string) => (all.find((x) => x.name.endsWith(suffix)) as { reason?: string } | undefined)?.reason ?? ''
    assert.match(reason('COPY data/a.txt data/b.txt ./data/'), /the files it reads from the build context changed/)
    assert.match(reason('RUN wc -c /src/lib/*.c > /out/sizes'), /its input changed: \[build 6\/7\]/)
    assert.ok(all.some((x) => x.cached && x.name.endsWith('COPY src/ ./')))
    // an ignored file changing reruns nothing
    await writeFile(join(ctx, 'src/lib/README.md'), 'still ignored, now changed\n')
    const md4 = join(work, 'md4.json')
    assert.equal((await build([], md4)).code, 0)
    assert.deepEqual((await steps(md4)).filter((x) => !x.cached).map((x) => x.name), [])
  })

  it('reruns everything with --no-cache', async () => {
    const md = join(work, 'md5.json')
    const r = await build(['--no-cache'], md)
    assert.equal(r.code, 0, r.stderr)
    const runs = (await steps(md)).filter((x) => x.name.includes('RUN'))
    assert.ok(runs.length >= 4)
    assert.ok(runs.every((x) => !x.cached), 'RUN steps must not be cached with --no-cache')
  })

  it('builds only the --target stage and writes the other outputs', async () => {
    const md = join(work, 'md6.json')
    const dest = join(work, 'rootfs-out')
    const dockerTar = join(work, 'docker.tar')
    const r = await build(['--target', 'build', '-o', `type=local,dest=${dest}`, '-o', `type=docker,dest=${dockerTar}`, '-t', 'test/build-stage'], md)
    assert.equal(r.code, 0, r.stderr)
    assert.ok((await steps(md)).every((s) => s.name.includes('[build ')), 'only the build stage runs')
    assert.equal((await readFile(join(dest, 'out/data.txt'), 'utf8')), 'alpha\ngamma\n')
    await assert.rejects(stat(join(dest, 'src/lib/README.md')))
    await assert.rejects(stat(join(dest, 'secret.txt')))
    const inspect = await run('skopeo', ['inspect', `docker-archive:${dockerTar}`])
    assert.equal(inspect.code, 0, inspect.stderr)
  })

  it('builds FROM an image in its own store and FROM a local OCI layout', async () => {
    const ctx2 = await tempDir('ctx2')
    try {
      const stored = await build(['-t', 'test/app:1'], join(work, 'md-store.json'))
      assert.equal(stored.code, 0, stored.stderr)
      await writeTree(ctx2, { Dockerfile: 'FROM test/app:1\nUSER root\nRUN greet store > /store.txt\nFROM layout\nCOPY --from=0 /store.txt /\n' })
      const md = join(work, 'md7.json')
      const r = await cairn(root, ['build', '--progress=plain', '--metadata-file', md, '--build-context', `layout=oci-layout://${join(work, 'layout')}:app`, '-o', `type=local,dest=${join(work, 'from-out')}`, ctx2])
      assert.equal(r.code, 0, r.stderr)
      assert.match(await readFile(join(work, 'from-out/store.txt'), 'utf8'), /^howdy, store!/)
      assert.ok((await stat(join(work, 'from-out/app/bin/greet'))).isFile())
    } finally {
      await rm(ctx2, { recursive: true, force: true })
    }
  })
})

describe('cairn build errors', { skip }, () => {
  let root: string
  before(async () => {
    root = await tempDir('root-err')
    await buildBaseImage(root)
  })
  after(async () => rm(root, { recursive: true, force: true }))

  const cases: { name: string; dockerfile: string; files?: Record<string, string>; args?: string[]; expect: RegExp }[] = [
    { name: 'unknown instruction', dockerfile: 'FROM test/base:1\nFROO bar\n', expect: /Dockerfile:2: .*unknown instruction: FROO/i },
    { name: 'unknown flag', dockerfile: 'FROM test/base:1\nCOPY --frm=x a /\n', expect: /Dockerfile:2: .*unknown flag: --frm/ },
    { name: 'malformed instruction', dockerfile: 'FROM test/base:1\nENV\n', expect: /Dockerfile:2: .*ENV/ },
    { name: 'missing context file', dockerfile: 'FROM test/base:1\nRUN true\nCOPY nothere.txt /\n', expect: /Dockerfile:3: .*"\/nothere.txt": not found/ },
    { name: 'failing RUN step', dockerfile: 'FROM test/base:1\nRUN echo about to fail && exit 3\n', expect: /Dockerfile:2: .*did not complete successfully: exit code: 3/ },
    { name: 'missing base image', dockerfile: 'FROM nosuch/image:1\n', expect: /Dockerfile:1: .*nosuch\/image:1.*(not found|cannot be pulled)/ },
    { name: 'unknown target', dockerfile: 'FROM test/base:1 AS a\n', args: ['--target', 'b'], expect: /target stage "b" could not be found/ },
    { name: 'unknown CLI flag', dockerfile: 'FROM test/base:1\n', args: ['--frobnicate'], expect: /Unknown option '--frobnicate'/ },
  ]
  for (const c of cases) {
    it(`${c.name}: one clear message, non-zero exit, no stack trace`, async () => {
      const ctx = await tempDir('err')
      try {
        await writeTree(ctx, { Dockerfile: c.dockerfile, ...(c.files ?? {}) })
        const r = await cairn(root, ['build', '--progress=plain', ...(c.args ?? []), ctx])
        assert.notEqual(r.code, 0)
        const errLines = r.stderr.split('\n').filter((l) => l.startsWith('ERROR: '))
        assert.equal(errLines.length, 1, r.stderr)
        assert.match(errLines[0] as string, c.expect)
        assert.ok(!hasStackTrace(r.stderr), r.stderr)
      } finally {
        await rm(ctx, { recursive: true, force: true })
      }
    })
  }
})

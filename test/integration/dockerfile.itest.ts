import assert from 'node:assert/strict'
import { createHash } from 'node:crypto'
import { lstat, mkdir, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises'
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { join } from 'node:path'
import { after, before, describe, it } from 'node:test'
import { buildBaseImage, cairn, hasStackTrace, missingPrerequisite, readJSON, run, steps, tempDir, writeTree } from '../helpers/cairn.ts'

const skip = await missingPrerequisite(['runc', 'tar', 'bzip2', 'xz', 'zstd'])
const ARCH: Record<string, string> = { x64: 'amd64', arm64: 'arm64', arm: 'arm', ppc64: 'ppc64le', s390x: 's390x', riscv64: 'riscv64' }
const PLATFORM = `linux/${ARCH[process.arch] ?? process.arch}${process.arch === 'arm' ? '/v7' : ''}`

const exists = (p: string) =>
  lstat(p).then(
    () => true,
    () => false,
  )
const sha = (s: string) => `sha256:${createHash('sha256').update(s).digest('hex')}`

/** Reads the image config out of an OCI archive written by `-o type=oci`. */
async function ociConfig(
  tar: string,
  work: string,
): Promise<{
  config: Record<string, unknown> & { Shell?: string[]; Cmd?: string[]; StopSignal?: string; Healthcheck?: unknown; Volumes?: unknown; OnBuild?: unknown }
}> {
  const dir = join(work, `oci-${Date.now()}-${Math.random().toString(36).slice(2)}`)
  await mkdir(dir)
  const x = await run('tar', ['-xf', tar, '-C', dir])
  assert.equal(x.code, 0, x.stderr)
  const blob = (d: string) => join(dir, 'blobs', 'sha256', d.slice(7))
  const index = await readJSON<{ manifests: { digest: string }[] }>(join(dir, 'index.json'))
  const manifest = await readJSON<{ config: { digest: string } }>(blob(index.manifests[0]?.digest as string))
  return readJSON(blob(manifest.config.digest))
}

describe('Dockerfile language (real runc builds)', { skip }, () => {
  let root: string
  let work: string
  let server: Server
  let base: string
  const served: Record<string, string> = { '/files/tool.txt': 'tool v1\n', '/files/other.txt': 'no checksum\n' }
  before(async () => {
    root = await tempDir('df-root')
    work = await tempDir('df-work')
    await buildBaseImage(root)
    server = createServer((req, res) => {
      const body = served[req.url ?? '']
      if (body === undefined) return void res.writeHead(404).end('not found')
      res.writeHead(200, { 'content-type': 'text/plain', 'last-modified': 'Mon, 01 Jan 2024 00:00:00 GMT' }).end(body)
    })
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
  })
  after(async () => {
    server.close()
    for (const d of [root, work]) await rm(d, { recursive: true, force: true })
  })

  /** Builds `ctx` into a local directory; returns the CLI result, the output dir and the steps. */
  const build = async (ctx: string, name: string, extra: string[] = []) => {
    const out = join(work, `out-${name}`)
    const md = join(work, `md-${name}.json`)
    await rm(out, { recursive: true, force: true })
    const r = await cairn(root, ['build', '--progress=plain', '--metadata-file', md, '-o', `type=local,dest=${out}`, ...extra, ctx])
    return { r, out, steps: r.code === 0 ? await steps(md) : [] }
  }
  const uncached = (s: { name: string; cached: boolean }[]) => s.filter((x) => !x.cached).map((x) => x.name.replace(/^\[[^\]]+\] /, ''))

  it('RUN --mount bind/cache/tmpfs and --network: contents, no stubs, persistence, keys', async () => {
    const ctx = await tempDir('df-mounts')
    await writeTree(ctx, {
      '.dockerignore': 'secret.txt\n',
      'secret.txt': 'never visible\n',
      'in.txt': 'input v1\n',
      'sub/a.txt': 'sub a\n',
      Dockerfile: `FROM test/base:1 AS src
RUN mkdir -p /data && echo from-stage > /data/s.txt

FROM test/base:1
WORKDIR /w
RUN --mount=type=bind,target=/ctx cat /ctx/in.txt > /w/bind-ctx && ls -a /ctx > /w/ls-ctx
RUN --mount=type=bind,source=sub,target=/mnt/sub,rw echo scribble > /mnt/sub/new && cat /mnt/sub/a.txt /mnt/sub/new > /w/bind-rw
RUN --mount=type=bind,from=src,source=/data,target=/from-stage cat /from-stage/s.txt > /w/bind-stage
RUN --mount=from=test/base:1,source=/bin/busybox,target=/img-busybox test -f /img-busybox && echo yes > /w/bind-image
RUN --mount=type=cache,target=/var/cache/app echo x >> /var/cache/app/log && wc -l < /var/cache/app/log > /w/cache-count
RUN --mount=type=cache,id=owned,target=/owned,uid=1000,gid=1000,mode=0700 stat -c '%u:%g %a' /owned > /w/cache-owner
RUN --mount=type=tmpfs,target=/scratchpad,size=1m df -k /scratchpad | tail -n 1 > /w/tmpfs && touch /scratchpad/x
RUN --network=none cat /proc/net/dev > /w/netdev
`,
    })
    try {
      const first = await build(ctx, 'mounts1')
      assert.equal(first.r.code, 0, first.r.stderr)
      const o = (p: string) => readFile(join(first.out, p), 'utf8')
      assert.equal(await o('w/bind-ctx'), 'input v1\n')
      assert.doesNotMatch(await o('w/ls-ctx'), /secret\.txt/, '.dockerignore applies to bind mounts of the context')
      assert.equal(await o('w/bind-rw'), 'sub a\nscribble\n')
      assert.equal(await exists(join(ctx, 'sub/new')), false, 'rw bind-mount writes are discarded')
      assert.equal(await o('w/bind-stage'), 'from-stage\n')
      assert.equal(await o('w/bind-image'), 'yes\n')
      assert.equal((await o('w/cache-count')).trim(), '1')
      assert.equal(await o('w/cache-owner'), '1000:1000 700\n')
      assert.match(await o('w/tmpfs'), /^tmpfs\s+1024\s/)
      const ifaces = (await o('w/netdev'))
        .split('\n')
        .slice(2)
        .filter((l) => l.trim())
        .map((l) => l.trim().split(':')[0])
      assert.deepEqual(ifaces, ['lo'], '--network=none has only a loopback interface')
      for (const p of ['ctx', 'mnt', 'from-stage', 'img-busybox', 'var', 'owned', 'scratchpad', 'dev']) {
        assert.equal(await exists(join(first.out, p)), false, `mount point /${p} must not be in the image`)
      }

      const second = await build(ctx, 'mounts2')
      assert.equal(second.r.code, 0, second.r.stderr)
      assert.deepEqual(uncached(second.steps), [], 'an identical rebuild is fully cached')

      await writeFile(join(ctx, 'secret.txt'), 'ignored change\n')
      const ignored = await build(ctx, 'mounts3')
      assert.deepEqual(uncached(ignored.steps), [], 'an ignored file is not part of a bind mount key')

      await writeFile(join(ctx, 'in.txt'), 'input v2\n')
      const third = await build(ctx, 'mounts4')
      assert.equal(third.r.code, 0, third.r.stderr)
      const rerun = uncached(third.steps)
      assert.equal(rerun[0], 'RUN --mount=type=bind,target=/ctx cat /ctx/in.txt > /w/bind-ctx && ls -a /ctx > /w/ls-ctx')
      assert.ok(!rerun.some((n) => n.includes('from-stage') && n.startsWith('RUN mkdir')), 'the other stage stays cached')
      assert.equal(await readFile(join(third.out, 'w/bind-ctx'), 'utf8'), 'input v2\n')
      assert.equal((await readFile(join(third.out, 'w/cache-count'), 'utf8')).trim(), '2', 'the cache mount persisted between builds')
      assert.equal(await exists(join(third.out, 'var')), false)
    } finally {
      await rm(ctx, { recursive: true, force: true })
    }
  })

  it('sharing=locked serializes users across processes', async () => {
    const ctx = await tempDir('df-locked')
    await writeTree(ctx, {
      Dockerfile:
        'FROM test/base:1\nARG N\nRUN --mount=type=cache,target=/c,sharing=locked echo "start $N" >> /c/log && sleep 1 && echo "end $N" >> /c/log && cat /c/log > /log\n',
    })
    try {
      const one = (n: string) => cairn(root, ['build', '--progress=plain', '--build-arg', `N=${n}`, '-o', `type=local,dest=${join(work, `locked-${n}`)}`, ctx])
      const [a, b] = await Promise.all([one('a'), one('b')])
      assert.equal(a.code, 0, a.stderr)
      assert.equal(b.code, 0, b.stderr)
      const logs = [await readFile(join(work, 'locked-a/log'), 'utf8'), await readFile(join(work, 'locked-b/log'), 'utf8')]
      const full = logs.sort((x, y) => y.length - x.length)[0] as string
      assert.match(full, /^start (a|b)\nend \1\nstart (a|b)\nend \2\n$/, `users overlapped:\n${full}`)
    } finally {
      await rm(ctx, { recursive: true, force: true })
    }
  })

  it('COPY/ADD: --chmod, --link, --exclude, --parents, archives, URLs, --from an image', async () => {
    const ctx = await tempDir('df-copy')
    await writeTree(ctx, {
      'run.sh': '#!/bin/sh\necho run\n',
      'dir/top.txt': 'top\n',
      'dir/readme.md': 'docs\n',
      'dir/skip/x.txt': 'skipped\n',
      'dir/nested/deep.txt': 'deep\n',
      'tree/inner/f.txt': 'in the archive\n',
    })
    for (const [name, flag] of [
      ['plain.tar', ''],
      ['gz.tar.gz', 'z'],
      ['bz.tar.bz2', 'j'],
      ['xz.tar.xz', 'J'],
    ] as const) {
      const t = await run('tar', [`-c${flag}f`, join(ctx, name), '-C', join(ctx, 'tree'), '.'])
      assert.equal(t.code, 0, t.stderr)
    }
    assert.equal((await run('tar', ['--zstd', '-cf', join(ctx, 'zst.tar.zst'), '-C', join(ctx, 'tree'), '.'])).code, 0)
    assert.equal((await run('sh', ['-c', `echo not a tar | gzip > ${join(ctx, 'notatar.gz')}`])).code, 0)
    const tool = served['/files/tool.txt'] as string
    await writeFile(
      join(ctx, 'Dockerfile'),
      `FROM test/base:1
COPY --chmod=0751 run.sh /o/octal
COPY --chmod=u+x,g-r,o= run.sh /o/symbolic
COPY --link --chown=1000:1000 dir/ /o/linked/
COPY --exclude=*.md --exclude=skip dir/ /o/excluded/
COPY --parents dir/./nested/deep.txt dir/top.txt /o/parents/
ADD plain.tar /o/tar/
ADD gz.tar.gz /o/gz/
ADD bz.tar.bz2 /o/bz/
ADD xz.tar.xz /o/xz/
ADD zst.tar.zst /o/zst/
ADD notatar.gz /o/raw/
COPY gz.tar.gz /o/copied/
ADD --checksum=${sha(tool)} ${base}/files/tool.txt /o/http/
ADD ${base}/files/other.txt /o/http2/named.txt
COPY --from=test/base:1 /bin/busybox /o/busybox-from-image
`,
    )
    try {
      const first = await build(ctx, 'copy1')
      assert.equal(first.r.code, 0, first.r.stderr)
      const p = (x: string) => join(first.out, x)
      assert.equal((await stat(p('o/octal'))).mode & 0o7777, 0o751)
      assert.equal((await stat(p('o/symbolic'))).mode & 0o7777, 0o700, 'u+x,g-r,o= on 0644')
      assert.equal(await readFile(p('o/linked/top.txt'), 'utf8'), 'top\n')
      assert.equal((await stat(p('o/linked/nested/deep.txt'))).uid, 1000)
      assert.deepEqual((await readdir(p('o/excluded'))).sort(), ['nested', 'top.txt'])
      assert.equal(await readFile(p('o/parents/nested/deep.txt'), 'utf8'), 'deep\n')
      assert.equal(await readFile(p('o/parents/dir/top.txt'), 'utf8'), 'top\n')
      for (const d of ['tar', 'gz', 'bz', 'xz', 'zst']) {
        const listing = await readdir(p(`o/${d}`)).catch((e: Error) => e.message)
        assert.equal(await readFile(p(`o/${d}/inner/f.txt`), 'utf8').catch(() => undefined), 'in the archive\n', `ADD ${d} extracts (has: ${listing})`)
      }
      assert.ok((await stat(p('o/raw/notatar.gz'))).isFile(), 'a compressed non-tar is copied as is')
      assert.ok((await stat(p('o/copied/gz.tar.gz'))).isFile(), 'COPY never extracts')
      assert.equal(await readFile(p('o/http/tool.txt'), 'utf8'), tool)
      assert.equal((await stat(p('o/http/tool.txt'))).mode & 0o777, 0o600, 'downloaded files are 0600 as in Docker')
      assert.equal(await readFile(p('o/http2/named.txt'), 'utf8'), served['/files/other.txt'])
      assert.ok((await stat(p('o/busybox-from-image'))).size > 100_000)

      const second = await build(ctx, 'copy2')
      assert.equal(second.r.code, 0, second.r.stderr)
      assert.deepEqual(uncached(second.steps), [], 'an identical rebuild is fully cached')

      // a changed URL body with a pinned checksum fails with the Dockerfile line
      // (the key of a pinned download is its name and checksum: a new name makes it download)
      served['/files/tampered.txt'] = 'tool v2 (tampered)\n'
      await writeFile(join(ctx, 'Dockerfile'), `FROM test/base:1\nRUN true\nADD --checksum=${sha(tool)} ${base}/files/tampered.txt /o/\n`)
      const bad = await build(ctx, 'copy3')
      assert.notEqual(bad.r.code, 0)
      assert.match(bad.r.stderr, /ERROR: Dockerfile:3: .*digest mismatch: expected sha256:[a-f0-9]{64}, got sha256:[a-f0-9]{64}/)
      assert.ok(!hasStackTrace(bad.r.stderr), bad.r.stderr)
    } finally {
      await rm(ctx, { recursive: true, force: true })
    }
  })

  it('heredocs: RUN with and without shebang, several per line, COPY/ADD bodies', async () => {
    const ctx = await tempDir('df-heredoc')
    await writeTree(ctx, {
      Dockerfile: `FROM test/base:1
ARG NAME=world
RUN mkdir /h
RUN <<EOF
echo "plain $NAME" > /h/plain
echo "second line" >> /h/plain
EOF
RUN <<EOF
#!/bin/sh
echo "script $0" > /h/shebang
EOF
RUN <<A cat > /h/a && <<B cat > /h/b
body a
A
body b
B
RUN <<-EOF
\techo tabs stripped > /h/chomp
\tEOF
COPY <<EOF /h/expanded
hello \${NAME} "quoted"
EOF
COPY <<"EOF" /h/literal
hello \${NAME}
EOF
ADD <<one <<two /h/multi/
first
one
second
two
`,
    })
    try {
      const first = await build(ctx, 'heredoc1')
      assert.equal(first.r.code, 0, first.r.stderr)
      const h = (x: string) => readFile(join(first.out, 'h', x), 'utf8')
      assert.equal(await h('plain'), 'plain world\nsecond line\n')
      assert.equal(await h('shebang'), 'script /dev/pipes/EOF\n')
      assert.equal(await h('a'), 'body a\n')
      assert.equal(await h('b'), 'body b\n')
      assert.equal(await h('chomp'), 'tabs stripped\n')
      assert.equal(await h('expanded'), 'hello world "quoted"\n')
      assert.equal(await h('literal'), 'hello ${NAME}\n')
      assert.equal(await h('multi/one'), 'first\n')
      assert.equal(await h('multi/two'), 'second\n')
      assert.equal((await stat(join(first.out, 'h/expanded'))).mode & 0o777, 0o644)
      assert.equal(await exists(join(first.out, 'dev')), false, 'no /dev/pipes stub')
      const second = await build(ctx, 'heredoc2')
      assert.deepEqual(uncached(second.steps), [])
    } finally {
      await rm(ctx, { recursive: true, force: true })
    }
  })

  it('image config, ONBUILD triggers, predefined ARGs and Dockerfile.dockerignore', async () => {
    const parent = await tempDir('df-onbuild')
    const ctx = await tempDir('df-config')
    try {
      await writeTree(parent, { Dockerfile: 'FROM test/base:1\nONBUILD RUN echo triggered > /onbuild.txt\nONBUILD COPY trigger.txt /trig/\n' })
      const p = await cairn(root, ['build', '--progress=plain', '-t', 'test/onbuild:1', parent])
      assert.equal(p.code, 0, p.stderr)
      await writeTree(ctx, {
        'trigger.txt': 'from the child context\n',
        'a.txt': 'a\n',
        'b.txt': 'b\n',
        '.dockerignore': 'b.txt\n',
        'build/app.Dockerfile.dockerignore': 'a.txt\n',
        'build/app.Dockerfile': `ARG GLOBAL_ARCH=\${TARGETARCH}
FROM test/onbuild:1
ARG TARGETPLATFORM
ARG TARGETOS
ARG TARGETARCH
ARG TARGETVARIANT
ARG BUILDPLATFORM
ARG BUILDOS
ARG BUILDARCH
ARG BUILDVARIANT
ARG GLOBAL_ARCH
RUN echo "$TARGETPLATFORM|$TARGETOS|$TARGETARCH|$TARGETVARIANT|$BUILDPLATFORM|$BUILDOS|$BUILDARCH|$BUILDVARIANT|$GLOBAL_ARCH" > /args.txt
COPY . /ctx/
SHELL ["/bin/sh", "-ec"]
CMD echo shell form
STOPSIGNAL SIGQUIT
HEALTHCHECK --interval=30s --timeout=5s --start-period=2s --retries=4 CMD ["true"]
VOLUME /data /cache
`,
      })
      const tar = join(work, 'config.tar')
      const md = join(work, 'md-config.json')
      const r = await cairn(root, [
        'build',
        '--progress=plain',
        '--metadata-file',
        md,
        '-f',
        join(ctx, 'build/app.Dockerfile'),
        '-o',
        `type=oci,dest=${tar}`,
        '-o',
        `type=local,dest=${join(work, 'out-config')}`,
        ctx,
      ])
      assert.equal(r.code, 0, r.stderr)
      const out = (x: string) => readFile(join(work, 'out-config', x), 'utf8')
      assert.equal(await out('onbuild.txt'), 'triggered\n', 'ONBUILD RUN ran in the child')
      assert.equal(await out('trig/trigger.txt'), 'from the child context\n', 'ONBUILD COPY reads the child context')
      const [os, arch, variant = ''] = PLATFORM.split('/') as [string, string, string?]
      assert.equal(await out('args.txt'), `${PLATFORM}|${os}|${arch}|${variant}|${PLATFORM}|${os}|${arch}|${variant}|${arch}\n`)
      assert.deepEqual(
        (await readdir(join(work, 'out-config/ctx'))).sort(),
        ['.dockerignore', 'b.txt', 'build', 'trigger.txt'],
        'Dockerfile.dockerignore wins over .dockerignore',
      )
      const cfg = (await ociConfig(tar, work)).config
      assert.deepEqual(cfg.Shell, ['/bin/sh', '-ec'])
      assert.deepEqual(cfg.Cmd, ['/bin/sh', '-ec', 'echo shell form'])
      assert.equal(cfg.StopSignal, 'SIGQUIT')
      assert.deepEqual(cfg.Healthcheck, { Test: ['CMD', 'true'], Interval: 30e9, Timeout: 5e9, StartPeriod: 2e9, Retries: 4 })
      assert.deepEqual(cfg.Volumes, { '/data': {}, '/cache': {} })
      assert.equal(cfg.OnBuild ?? null, null, 'triggers are not inherited')
      const again = await cairn(root, ['build', '--progress=plain', '--metadata-file', md, '-f', join(ctx, 'build/app.Dockerfile'), ctx])
      assert.equal(again.code, 0, again.stderr)
      assert.deepEqual(uncached(await steps(md)), [])
    } finally {
      await rm(parent, { recursive: true, force: true })
      await rm(ctx, { recursive: true, force: true })
    }
  })

  it('build checks: each warning printed once; check=error=true fails the build', async () => {
    const ctx = await tempDir('df-checks')
    const body = 'ARG VERSION\nFROM test/base:1 AS Build\nWORKDIR app\nENV A=$UNDEFINED_X\nCMD echo hi\n'
    try {
      await writeTree(ctx, { Dockerfile: body })
      const r = await cairn(root, ['build', '--progress=plain', ctx])
      assert.equal(r.code, 0, r.stderr)
      const warnings = r.stderr.split('\n').filter((l) => l.includes('WARNING') || /^\s*\w+: Dockerfile:\d+/.test(l))
      for (const rule of ['StageNameCasing', 'WorkdirRelativePath', 'UndefinedVar', 'JSONArgsRecommended']) {
        assert.equal(warnings.filter((l) => l.includes(rule)).length, 1, `${rule} once in:\n${r.stderr}`)
      }
      assert.match(r.stderr, /Usage of undefined variable '\$UNDEFINED_X'/)
      await writeTree(ctx, { Dockerfile: `# check=skip=JSONArgsRecommended,StageNameCasing;error=true\n${body}` })
      const e = await cairn(root, ['build', '--progress=plain', ctx])
      assert.notEqual(e.code, 0)
      assert.doesNotMatch(e.stderr, /JSONArgsRecommended|StageNameCasing/)
      assert.match(e.stderr, /ERROR: Dockerfile:\d+: lint violation found for rules: WorkdirRelativePath, UndefinedVar/)
      assert.ok(!hasStackTrace(e.stderr), e.stderr)
    } finally {
      await rm(ctx, { recursive: true, force: true })
    }
  })

  const errors: { name: string; dockerfile: string; files?: Record<string, string>; expect: RegExp }[] = [
    {
      name: 'missing required secret',
      dockerfile: 'FROM test/base:1\nRUN --mount=type=secret,id=tok,required=true cat /run/secrets/tok\n',
      expect: /Dockerfile:2: secret "tok" is required \(required=true\) but the build was not given it/,
    },
    { name: 'ssh mount', dockerfile: 'FROM test/base:1\nRUN --mount=type=ssh true\n', expect: /Dockerfile:2: RUN --mount=type=ssh is not supported yet/ },
    {
      name: 'git URL',
      dockerfile: 'FROM test/base:1\nADD https://github.com/moby/buildkit.git#v0.18.0 /src\n',
      expect: /Dockerfile:2: ADD from a git repository .* is not supported yet/,
    },
    {
      name: 'keep-git-dir',
      dockerfile: 'FROM test/base:1\nADD --keep-git-dir=true https://github.com/moby/buildkit.git /src\n',
      expect: /Dockerfile:2: ADD --keep-git-dir is not supported yet/,
    },
    {
      name: 'missing bind source',
      dockerfile: 'FROM test/base:1\nRUN --mount=source=nothere,target=/x true\n',
      expect: /Dockerfile:2: .*mount source "\/nothere" not found/,
    },
    { name: 'duplicate stage name', dockerfile: 'FROM test/base:1 AS a\nFROM test/base:1 AS a\n', expect: /Dockerfile:2: duplicate stage name "a"/ },
  ]
  for (const c of errors) {
    it(`rejects ${c.name} with one clear message`, async () => {
      const ctx = await tempDir('df-err')
      try {
        await writeTree(ctx, { Dockerfile: c.dockerfile, ...(c.files ?? {}) })
        const r = await cairn(root, ['build', '--progress=plain', ctx])
        assert.notEqual(r.code, 0)
        const errLines = r.stderr.split('\n').filter((l) => l.startsWith('ERROR: '))
        assert.ok(errLines.length >= 1, r.stderr)
        assert.match(errLines.at(-1) as string, c.expect)
        assert.ok(!hasStackTrace(r.stderr), r.stderr)
      } finally {
        await rm(ctx, { recursive: true, force: true })
      }
    })
  }

  it('ADD of a tar whose entries escape the destination writes nothing outside it', async () => {
    const ctx = await tempDir('df-evil')
    try {
      const py = `import tarfile, io\nt = tarfile.open('${join(ctx, 'evil.tar')}', 'w')\nfor name in ['ok.txt', '../../escaped.txt', '/abs-escaped.txt']:\n    d = b'x\\n'\n    i = tarfile.TarInfo(name); i.size = len(d); t.addfile(i, io.BytesIO(d))\nt.close()\n`
      const mk = await run('python3', ['-c', py])
      assert.equal(mk.code, 0, mk.stderr)
      await writeTree(ctx, { Dockerfile: 'FROM test/base:1\nADD evil.tar /x/y/\n' })
      const r = await build(ctx, 'evil')
      if (r.r.code === 0) {
        assert.equal(await exists(join(r.out, 'escaped.txt')), false)
        assert.equal(await exists(join(r.out, 'x/escaped.txt')), false)
      } else {
        assert.match(r.r.stderr, /ERROR: .*escaped/)
      }
      assert.equal(await exists('/escaped.txt'), false)
      assert.equal(await exists('/abs-escaped.txt'), false)
    } finally {
      await rm(ctx, { recursive: true, force: true })
    }
  })
})

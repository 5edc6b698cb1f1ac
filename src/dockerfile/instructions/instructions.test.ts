import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import { DockerfileError } from '../../core/errors.ts'
import { build, one } from './test-helpers.ts'

/** Asserts a DockerfileError at `line` whose message contains `text`. */
function fails(df: string, line: number, text: string, hint?: RegExp) {
  assert.throws(
    () => build(df),
    (err: unknown) => {
      assert.ok(err instanceof DockerfileError, String(err))
      assert.equal(err.range.startLine, line)
      assert.ok(err.message.startsWith(`Dockerfile:${line}: `), err.message)
      assert.ok(err.message.includes(text), `${err.message} should contain ${text}`)
      if (hint) assert.match(err.hint ?? '', hint)
      return true
    },
  )
}
const inStage = (line: string) => `FROM scratch\n${line}\n`

describe('stages', () => {
  test('meta args, names, platform, index', () => {
    const r = build('ARG A=1 B\nFROM --platform=$BUILDPLATFORM ${A} AS Builder\nRUN x\nFROM scratch\n')
    assert.deepEqual(r.metaArgs[0]?.args, [{ key: 'A', value: '1' }, { key: 'B' }])
    const [s0, s1] = r.stages
    assert.equal(s0?.name, 'builder')
    assert.equal(s0?.baseName, '${A}')
    assert.equal(s0?.platform, '$BUILDPLATFORM')
    assert.deepEqual(s0?.fromFlags, ['--platform=$BUILDPLATFORM'])
    assert.deepEqual(s0?.range, { file: 'Dockerfile', startLine: 2, endLine: 2 })
    assert.equal(s0?.commands.length, 1)
    assert.equal(s1?.index, 1)
    assert.equal(s1?.name, undefined)
  })
  test('errors', () => {
    fails('RUN x\n', 1, 'no build stage in current context')
    fails('FROM a AS 1x\n', 1, 'invalid name for build stage: "1x"')
    fails('FROM a b\n', 1, 'FROM requires either one or three arguments')
    fails('FROM a AS b\nFROM c AS B\n', 2, 'duplicate stage name "b"', /line 1/)
    fails('FROM --plat=x a\n', 1, 'unknown flag: --plat', /did you mean --platform\?/)
  })
  test('unknown instruction', () => {
    fails(inStage('COPPY a b'), 2, 'unknown instruction: COPPY', /did you mean COPY\?/)
    fails(inStage('FOO bar'), 2, 'unknown instruction: FOO')
  })
})

describe('ENV, LABEL, ARG', () => {
  test('forms', () => {
    assert.deepEqual(one('ENV a=1 b="x y"'), {
      ...one('ENV a=1 b="x y"'),
      env: [
        { key: 'a', value: '1' },
        { key: 'b', value: '"x y"' },
      ],
      expand: ['env'],
    })
    assert.deepEqual((one('ENV k v w') as { env: unknown }).env, [{ key: 'k', value: 'v w' }])
    assert.deepEqual((one('LABEL a=b') as { labels: unknown }).labels, [{ key: 'a', value: 'b' }])
    assert.deepEqual((one('ARG x=1 y') as { args: unknown }).args, [{ key: 'x', value: '1' }, { key: 'y' }])
  })
  test('errors', () => {
    fails(inStage('ENV'), 2, 'ENV requires at least one argument')
    fails(inStage('ENV =x'), 2, 'ENV names can not be blank')
    fails(inStage('ARG =x'), 2, 'ARG names can not be blank')
    fails(inStage('ARG'), 2, 'ARG requires at least one argument')
    fails(inStage('LABEL --x=1 a=b'), 2, 'unknown flag: --x')
  })
})

describe('RUN', () => {
  test('shell and exec form, flags', () => {
    const run = one('RUN --network=host --security=insecure --device=/dev/fuse,required echo "$HOME"')
    assert.equal(run.kind, 'run')
    if (run.kind !== 'run') return
    assert.deepEqual(run.cmd, ['echo "$HOME"'])
    assert.equal(run.prependShell, true)
    assert.equal(run.network, 'host')
    assert.equal(run.security, 'insecure')
    assert.deepEqual(run.devices, [{ name: '/dev/fuse', required: true }])
    assert.deepEqual(run.expand, [])
    const exec = one('RUN ["a", "b c"]')
    assert.ok(exec.kind === 'run' && !exec.prependShell && exec.cmd.length === 2)
  })
  test('heredocs', () => {
    const run = one('RUN <<-EOF bash\n\techo hi\nEOF')
    assert.ok(run.kind === 'run')
    assert.deepEqual(run.heredocs, [{ name: 'EOF', content: 'echo hi\n', fileDescriptor: 0, expand: true, chomp: true }])
    assert.deepEqual(run.cmd, ['<<-EOF bash'])
  })
  test('flag errors', () => {
    fails(inStage('RUN --network=bridge x'), 2, 'invalid network mode "bridge"')
    fails(inStage('RUN --security=x y'), 2, 'security "x" is not valid')
    fails(inStage('RUN --mount x'), 2, 'missing a value on flag: --mount')
    fails(inStage('RUN --network=none --network=host x'), 2, 'duplicate flag specified: --network')
    fails(inStage('RUN --mount=type=foo x'), 2, 'unsupported mount type "foo"')
    fails(inStage('RUN --mout=type=cache x'), 2, 'unknown flag: --mout', /--mount/)
  })
})

describe('COPY and ADD', () => {
  test('COPY flags', () => {
    const c = one('COPY --from=build --chown=$U:$G --chmod=755 --link --parents --exclude=*.md --exclude=x a b /d/')
    assert.ok(c.kind === 'copy')
    assert.deepEqual(
      { from: c.from, chown: c.chown, chmod: c.chmod, link: c.link, parents: c.parents, excludes: c.excludes },
      { from: 'build', chown: '$U:$G', chmod: '755', link: true, parents: true, excludes: ['*.md', 'x'] },
    )
    assert.deepEqual(c.sources, ['a', 'b'])
    assert.equal(c.dest, '/d/')
    assert.deepEqual(c.expand, ['sources', 'dest', 'chown', 'chmod'])
    const plain = one('COPY ["a b", "c"]')
    assert.ok(plain.kind === 'copy' && plain.sources[0] === 'a b' && !plain.link && plain.from === undefined)
  })
  test('COPY heredoc sources', () => {
    const c = one('COPY <<A <<"B" /d/\none $x\nA\ntwo\nB')
    assert.ok(c.kind === 'copy')
    assert.deepEqual(c.sources, [])
    assert.deepEqual(
      c.heredocs.map((h) => [h.name, h.content, h.expand]),
      [
        ['A', 'one $x\n', true],
        ['B', 'two\n', false],
      ],
    )
  })
  test('ADD flags', () => {
    const a = one('ADD --checksum=sha256:aa --keep-git-dir=false --unpack=true --chmod=644 src /d')
    assert.ok(a.kind === 'add')
    assert.deepEqual([a.checksum, a.keepGitDir, a.unpack, a.chmod], ['sha256:aa', false, true, '644'])
    const b = one('ADD s /d')
    assert.ok(b.kind === 'add' && b.keepGitDir === undefined && b.unpack === undefined)
  })
  test('errors', () => {
    fails(inStage('COPY a'), 2, 'COPY requires at least two arguments')
    fails(inStage('ADD a'), 2, 'ADD requires at least two arguments')
    fails(inStage('COPY --from=$X a b'), 2, 'variable expansion is not supported for --from')
    fails(inStage('COPY --parents=maybe a b'), 2, 'expecting boolean value for flag --parents, not: maybe')
    fails(inStage('COPY --link= a b'), 2, 'missing a value on flag: --link')
    fails(inStage('COPY --checksum=x a b'), 2, 'unknown flag: --checksum')
    fails(inStage('COPY a <<EOF\nx\nEOF'), 2, 'COPY cannot accept a heredoc as a destination')
  })
})

describe('CMD, ENTRYPOINT, SHELL, HEALTHCHECK', () => {
  test('forms', () => {
    assert.deepEqual((one('CMD echo hi') as { cmd: unknown }).cmd, ['echo hi'])
    const e = one('ENTRYPOINT ["a"]')
    assert.ok(e.kind === 'entrypoint' && !e.prependShell && e.cmd[0] === 'a')
    assert.deepEqual((one('SHELL ["bash", "-c"]') as { shell: unknown }).shell, ['bash', '-c'])
  })
  test('healthcheck', () => {
    const h = one('HEALTHCHECK --interval=1m30s --timeout=500ms --start-period=0s --start-interval=2s --retries=4 CMD curl -f x')
    assert.ok(h.kind === 'healthcheck')
    assert.deepEqual(h.test, ['CMD-SHELL', 'curl -f x'])
    assert.equal(h.interval, 90e9)
    assert.equal(h.timeout, 500e6)
    assert.equal(h.startPeriod, undefined)
    assert.equal(h.startInterval, 2e9)
    assert.equal(h.retries, 4)
    assert.deepEqual((one('HEALTHCHECK CMD ["a", "b"]') as { test: unknown }).test, ['CMD', 'a', 'b'])
    assert.deepEqual((one('HEALTHCHECK none') as { test: unknown }).test, ['NONE'])
  })
  test('errors', () => {
    fails(inStage('SHELL bash -c'), 2, 'SHELL requires the arguments to be in JSON form')
    fails(inStage('SHELL []'), 2, 'SHELL requires at least one argument')
    fails(inStage('HEALTHCHECK'), 2, 'HEALTHCHECK requires at least one argument')
    fails(inStage('HEALTHCHECK NONE x'), 2, 'HEALTHCHECK NONE takes no arguments')
    fails(inStage('HEALTHCHECK CONNECT x'), 2, 'Unknown type "CONNECT" in HEALTHCHECK (try CMD)')
    fails(inStage('HEALTHCHECK CMD'), 2, 'Missing command after HEALTHCHECK CMD')
    fails(inStage('HEALTHCHECK --interval=10us CMD x'), 2, 'Interval "interval" cannot be less than 1ms')
    fails(inStage('HEALTHCHECK --timeout=5 CMD x'), 2, 'missing unit in duration')
    fails(inStage('HEALTHCHECK --retries=-1 CMD x'), 2, '--retries cannot be negative (-1)')
    fails(inStage('HEALTHCHECK --retries=x CMD x'), 2, 'invalid value for --retries')
    fails(inStage('CMD --foo x'), 2, 'unknown flag: --foo')
  })
})

describe('simple instructions', () => {
  test('values', () => {
    assert.equal((one('WORKDIR /a b') as { path: string }).path, '/a b')
    assert.equal((one('USER app:app') as { user: string }).user, 'app:app')
    assert.deepEqual((one('EXPOSE 8080/udp 80') as { ports: unknown }).ports, ['80', '8080/udp'])
    assert.equal((one('STOPSIGNAL SIGKILL') as { signal: string }).signal, 'SIGKILL')
    assert.deepEqual((one('VOLUME ["/a", "/b"]') as { volumes: unknown }).volumes, ['/a', '/b'])
    assert.deepEqual((one('VOLUME /a /b') as { volumes: unknown }).volumes, ['/a', '/b'])
    assert.equal((one('MAINTAINER me <m@x>') as { maintainer: string }).maintainer, 'me <m@x>')
    assert.equal((one('onbuild RUN make') as { expression: string }).expression, 'RUN make')
    assert.equal((one('ONBUILD RUN <<E\nx\nE') as { expression: string }).expression, 'RUN <<E\nx\nE')
  })
  test('expansion lists', () => {
    assert.deepEqual(one('WORKDIR /a').expand, ['path'])
    assert.deepEqual(one('USER a').expand, ['user'])
    assert.deepEqual(one('VOLUME /a').expand, ['volumes'])
    assert.deepEqual(one('STOPSIGNAL 9').expand, ['signal'])
    assert.deepEqual(one('ONBUILD RUN x').expand, [])
    assert.deepEqual(one('CMD x').expand, [])
  })
  test('errors', () => {
    fails(inStage('WORKDIR'), 2, 'WORKDIR requires exactly one argument')
    fails(inStage('USER'), 2, 'USER requires exactly one argument')
    fails(inStage('EXPOSE'), 2, 'EXPOSE requires at least one argument')
    fails(inStage('VOLUME [""]'), 2, 'VOLUME specified can not be an empty string')
    fails(inStage('ONBUILD ONBUILD RUN x'), 2, 'Chaining ONBUILD via `ONBUILD ONBUILD` isn\'t allowed')
    fails(inStage('ONBUILD FROM x'), 2, "FROM isn't allowed as an ONBUILD trigger")
    fails(inStage('ONBUILD'), 2, 'ONBUILD requires at least one argument')
    fails(inStage('STOPSIGNAL --x=1 9'), 2, 'unknown flag: --x')
  })
})

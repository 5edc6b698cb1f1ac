import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import type { ContextRef } from '../../ops/build-ref.ts'
import { parse } from '../parser/index.ts'
import { convertDockerfile } from './convert.ts'

const platform = { os: 'linux', architecture: 'amd64' }
const context: ContextRef = {
  kind: 'context',
  dir: '/nonexistent',
  isExcluded: () => false,
  checksum: async () => {
    throw new Error('unused')
  },
}

function convert(text: string, buildArgs: Record<string, string> = {}) {
  return convertDockerfile({
    file: 'Dockerfile',
    parsed: parse(text, { file: 'Dockerfile' }),
    buildArgs: new Map(Object.entries(buildArgs)),
    platform,
    context,
    resolver: {
      resolve: async () => {
        throw new Error('no images in this test')
      },
    },
    layers: {} as never,
    executor: {} as never,
    workDir: '/nonexistent',
    checksum: async () => {
      throw new Error('unused')
    },
    signal: new AbortController().signal,
  })
}
const rules = (ws: { rule: string }[]) => ws.map((w) => w.rule)

describe('converter build checks', () => {
  it('UndefinedVar: used but never defined; a declared ARG or an ENV is defined', async () => {
    const r = await convert('FROM scratch\nARG DECLARED\nENV A=1\nENV B=$A$DECLARED$NOPE\nLABEL x=$AA\n')
    assert.deepEqual(
      r.warnings.map((w) => [w.rule, w.message, w.range?.startLine]),
      [
        ['UndefinedVar', "Usage of undefined variable '$NOPE'", 4],
        ['UndefinedVar', "Usage of undefined variable '$AA' (did you mean $A?)", 5],
      ],
    )
  })
  it('UndefinedArgInFrom and InvalidDefaultArgInFrom', async () => {
    const r = await convert('ARG IMG\nARG VERSIO=1\nFROM ${IMG}:${VERSION} AS a\nFROM scratch\n', { IMG: 'x' })
    assert.deepEqual(rules(r.warnings), ['UndefinedArgInFrom', 'InvalidDefaultArgInFrom'])
    assert.match(r.warnings[0]?.message ?? '', /^FROM argument 'VERSION' is not declared \(did you mean VERSIO\?\)$/)
    assert.equal(r.warnings[1]?.message, 'Default value for ARG ${IMG}:${VERSION} results in empty or invalid base image name')
  })
  it('WorkdirRelativePath only before an absolute WORKDIR', async () => {
    const r = await convert('FROM scratch\nWORKDIR rel\nWORKDIR /abs\nWORKDIR rel2\n')
    assert.deepEqual(
      r.warnings.map((w) => [w.rule, w.range?.startLine]),
      [['WorkdirRelativePath', 2]],
    )
  })
  it('predefined platform ARGs: global scope, and in a stage after ARG', async () => {
    const r = await convert('FROM scratch\nARG TARGETARCH\nARG BUILDPLATFORM\nENV A=$TARGETARCH B=$BUILDPLATFORM C=$TARGETOS\n')
    assert.ok(r.config.config?.Env?.includes('A=amd64'))
    assert.ok(r.config.config?.Env?.includes('B=linux/amd64'))
    assert.ok(r.config.config?.Env?.includes('C='))
    assert.deepEqual(rules(r.warnings), ['UndefinedVar'])
  })
  it('# check=skip drops rules; warnings are reported once', async () => {
    const r = await convert('# check=skip=UndefinedVar,StageNameCasing\nFROM scratch AS Build\nENV A=$X\nCMD echo hi\n')
    assert.deepEqual(rules(r.warnings), ['JSONArgsRecommended'])
    assert.equal(r.checkError, undefined)
    const all = await convert('# check=skip=all\nFROM scratch AS Build\nENV A=$X\n')
    assert.deepEqual(all.warnings, [])
  })
  it('# check=error=true turns warnings into an error naming the rules', async () => {
    const r = await convert('# check=error=true\nFROM scratch\nENV A=$X\nmaintainer me\n')
    assert.match(r.checkError?.message ?? '', /^Dockerfile:3: lint violation found for rules: UndefinedVar, MaintainerDeprecated, ConsistentInstructionCasing$/)
    const clean = await convert('# check=error=true\nFROM scratch\nENV A=1\n')
    assert.equal(clean.checkError, undefined)
  })
  it('image config: SHELL, STOPSIGNAL, HEALTHCHECK, VOLUME in docker formats', async () => {
    const r = await convert(
      'FROM scratch\nSHELL ["/bin/bash", "-ec"]\nCMD run it\nSTOPSIGNAL SIGQUIT\nHEALTHCHECK --interval=5s --retries=2 CMD curl -f x\nVOLUME /data /b\nVOLUME ["/c", "/d"]\n',
    )
    const c = r.config.config ?? {}
    assert.deepEqual(c.Shell, ['/bin/bash', '-ec'])
    assert.deepEqual(c.Cmd, ['/bin/bash', '-ec', 'run it'])
    assert.equal(c.StopSignal, 'SIGQUIT')
    assert.deepEqual(c.Healthcheck, { Test: ['CMD-SHELL', 'curl -f x'], Interval: 5e9, Retries: 2 })
    assert.deepEqual(c.Volumes, { '/data': {}, '/b': {}, '/c': {}, '/d': {} })
    assert.ok(
      r.history.pending.some((h) => h.createdBy === 'VOLUME [/data /b]'),
      'history as docker writes it',
    )
    assert.ok(!rules(r.warnings).includes('JSONArgsRecommended'), 'a SHELL silences JSONArgsRecommended')
    await assert.rejects(convert('FROM scratch\nSTOPSIGNAL SIGNOPE\n'), /Dockerfile:2: Invalid signal: SIGNOPE/)
  })
  it('RUN --mount=type=ssh and ADD git URLs are rejected clearly; type=secret converts', async () => {
    await assert.rejects(convert('FROM scratch\nRUN --mount=type=ssh true\n'), /Dockerfile:2: RUN --mount=type=ssh is not supported yet/)
    const sec = await convert('FROM scratch\nRUN --mount=type=secret,id=x --mount=type=secret,id=t,env=T true\n')
    assert.deepEqual((sec.target?.op as unknown as { spec: { secrets: unknown } }).spec.secrets, [
      { id: 'x', dest: '/run/secrets/x', mode: 0o400, uid: 0, gid: 0, required: false },
      { id: 't', env: 'T', mode: 0o400, uid: 0, gid: 0, required: false },
    ])
    await assert.rejects(convert('FROM scratch\nADD https://github.com/a/b.git /src\n'), /Dockerfile:2: ADD from a git repository .* is not supported yet/)
    await assert.rejects(convert('FROM scratch\nADD --keep-git-dir=true https://github.com/a/b.git /src\n'), /--keep-git-dir is not supported yet/)
    await assert.rejects(convert('FROM scratch\nADD --checksum=sha256:00 a /src\n'), /checksum can't be specified for non-HTTP\(S\) sources/)
  })
})

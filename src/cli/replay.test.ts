import assert from 'node:assert/strict'
import { chmodSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, unlinkSync, utimesSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, beforeEach, describe, it } from 'node:test'
import { type BuildArgs, parseBuildArgs } from './args.ts'
import { type MemoInput, memoEligible, memoPath, recordMemo, renderNoop, treeSignature, tryReplay, validMemo } from './replay.ts'

const MANIFEST = `sha256:${'a'.repeat(64)}`
const CONFIG = `sha256:${'b'.repeat(64)}`
const BASE = `sha256:${'c'.repeat(64)}`

const tmp = mkdtempSync(join(tmpdir(), 'cairn-replay-'))
after(() => rmSync(tmp, { recursive: true, force: true }))

let n = 0
interface Fixture {
  root: string
  ctx: string
  argv: string[]
  args: BuildArgs
  env: NodeJS.ProcessEnv
  input(over?: Partial<MemoInput>): MemoInput
}

/** A context, a root with an image store and the two blobs, and the memo input of a build of it. */
function fixture(): Fixture {
  const dir = join(tmp, String(++n))
  const root = join(dir, 'root')
  const ctx = join(dir, 'ctx')
  mkdirSync(join(ctx, 'src', 'lib'), { recursive: true })
  writeFileSync(join(ctx, 'Dockerfile'), 'FROM base\nCOPY src /src\n')
  for (let i = 0; i < 20; i++) writeFileSync(join(ctx, 'src', 'lib', `f${i}.txt`), `file ${i}\n`)
  mkdirSync(join(root, 'images'), { recursive: true })
  writeFileSync(join(root, 'images', 'index.json'), JSON.stringify({ images: { 'docker.io/library/base:latest': { manifest: BASE }, 'docker.io/library/app:latest': { manifest: MANIFEST } } }))
  mkdirSync(join(root, 'content', 'blobs', 'sha256'), { recursive: true })
  for (const d of [MANIFEST, CONFIG]) writeFileSync(join(root, 'content', 'blobs', 'sha256', d.slice(7)), '{}')
  const argv = ['build', '--root', root, '--progress', 'plain', '-t', 'app', '--metadata-file', join(dir, 'meta.json'), ctx]
  const args = parseBuildArgs(argv.slice(1))
  const env = { PATH: '/usr/bin:/bin', HOME: '/root' }
  return {
    root,
    ctx,
    argv,
    args,
    env,
    input: (over = {}) => ({
      root,
      args,
      cwd: dir,
      env,
      version: 'v1',
      // the build "started" well after the files were written, so none of them is racy
      startedAt: Date.now() + 5000,
      contextDir: ctx,
      files: [join(ctx, 'Dockerfile'), join(ctx, '.dockerignore')],
      images: { 'docker.io/library/base:latest': BASE, 'docker.io/library/app:latest': MANIFEST },
      blobs: [MANIFEST, CONFIG],
      steps: ['[1/2] FROM docker.io/library/base:latest', '[2/2] COPY src /src'],
      exports: ['exporting to image'],
      warnings: [{ rule: 'JSONArgsRecommended', message: 'Dockerfile:3: use JSON arguments' }],
      metadata: { 'containerimage.digest': MANIFEST, 'cairn.steps': [{ name: '[2/2] COPY src /src', cached: false, durationMs: 812, reason: 'first build' }] },
      ...over,
    }),
  }
}

const valid = (f: Fixture, version = 'v1', cwd = join(f.root, '..')) => validMemo(f.root, f.args, cwd, f.env, version)

describe('no-op memo: tree signature', () => {
  let f: Fixture
  beforeEach(() => {
    f = fixture()
  })
  it('is stable while nothing changes, and changes with every kind of edit', () => {
    const sig = () => treeSignature(f.ctx)?.digest
    const first = sig()
    assert.ok(first)
    assert.equal(sig(), first)
    assert.equal(treeSignature(f.ctx)?.entries, 24) // the directory, Dockerfile, src, src/lib and 20 files
    const file = join(f.ctx, 'src', 'lib', 'f3.txt')
    // same size, mtime put back: only the ctime tells
    const before = readFileSync(file)
    writeFileSync(file, 'FILE 3\n')
    utimesSync(file, new Date(0), new Date(0))
    const edited = sig()
    assert.notEqual(edited, first)
    writeFileSync(file, before)
    assert.notEqual(sig(), edited)
    const s1 = sig()
    chmodSync(file, 0o600)
    assert.notEqual(sig(), s1)
    const s2 = sig()
    writeFileSync(join(f.ctx, 'src', 'new.txt'), 'x')
    assert.notEqual(sig(), s2)
    const s3 = sig()
    unlinkSync(join(f.ctx, 'src', 'new.txt'))
    assert.notEqual(sig(), s3)
  })
  it('is undefined for a missing directory', () => {
    assert.equal(treeSignature(join(f.ctx, 'nope')), undefined)
  })
})

describe('no-op memo: record and validate', () => {
  let f: Fixture
  beforeEach(() => {
    f = fixture()
  })
  it('a recorded build is valid until one of its inputs changes', () => {
    assert.equal(recordMemo(f.input()), true)
    const rec = valid(f)
    assert.ok(rec)
    // every step replays as cached, whatever the recorded build did
    assert.deepEqual(rec.metadata['cairn.steps'], [{ name: '[2/2] COPY src /src', cached: true, source: 'local', durationMs: 0 }])
    assert.equal(valid(f, 'v2'), undefined, 'another cairn build')
    const other = (...argv: string[]) => parseBuildArgs([...f.argv.slice(1, -1), ...argv, f.ctx])
    assert.equal(validMemo(f.root, other('--build-arg', 'A=1'), join(f.root, '..'), f.env, 'v1'), undefined, 'other flags')
    assert.ok(validMemo(f.root, other('--metadata-file', '/elsewhere.json'), join(f.root, '..'), f.env, 'v1'), 'where the metadata goes does not count')
    assert.equal(validMemo(f.root, f.args, join(f.root, '..'), { ...f.env, SOURCE_DATE_EPOCH: '1' }, 'v1'), undefined, 'other environment')
    assert.equal(validMemo(f.root, f.args, join(f.root, '..'), { ...f.env, NODE_EXTRA_CA_CERTS: '/x.pem', GITHUB_RUN_ID: '7', TOKEN: 's3cret' }, 'v1')?.format, rec.format, 'variables a build does not read do not count')
    assert.equal(validMemo(f.root, f.args, join(f.root, '..'), { ...f.env, BUILDKIT_MULTI_PLATFORM: '1' }, 'v1'), undefined)
    // --build-arg NAME takes its value from the environment
    const fromEnv = other('--build-arg', 'VERSION')
    recordMemo(f.input({ args: fromEnv, env: { ...f.env, VERSION: '1' } }))
    assert.ok(validMemo(f.root, fromEnv, join(f.root, '..'), { ...f.env, VERSION: '1' }, 'v1'))
    assert.equal(validMemo(f.root, fromEnv, join(f.root, '..'), { ...f.env, VERSION: '2' }, 'v1'), undefined)
    // a secret from a variable: its presence counts, its value does not
    const secret = other('--secret', 'id=tok,env=TOKEN')
    recordMemo(f.input({ args: secret, env: { ...f.env, TOKEN: 'one' } }))
    assert.ok(validMemo(f.root, secret, join(f.root, '..'), { ...f.env, TOKEN: 'two' }, 'v1'))
    assert.equal(validMemo(f.root, secret, join(f.root, '..'), f.env, 'v1'), undefined)
    assert.ok(!readFileSync(memoPath(f.root, secret, join(f.root, '..'), { ...f.env, TOKEN: 'one' }), 'utf8').includes('one'))
  })
  it('a changed Dockerfile, ignore file or context file invalidates it', () => {
    recordMemo(f.input())
    writeFileSync(join(f.ctx, '.dockerignore'), 'src/lib/f1.txt\n')
    assert.equal(valid(f), undefined)
    unlinkSync(join(f.ctx, '.dockerignore'))
    recordMemo(f.input())
    assert.ok(valid(f))
    writeFileSync(join(f.ctx, 'src', 'lib', 'f7.txt'), 'file 8\n')
    assert.equal(valid(f), undefined)
  })
  it('a moved tag or a missing blob invalidates it', () => {
    recordMemo(f.input())
    const index = join(f.root, 'images', 'index.json')
    const orig = readFileSync(index)
    writeFileSync(index, JSON.stringify({ images: { 'docker.io/library/base:latest': { manifest: CONFIG }, 'docker.io/library/app:latest': { manifest: MANIFEST } } }))
    assert.equal(valid(f), undefined, 'base image rebuilt')
    writeFileSync(index, JSON.stringify({ images: { 'docker.io/library/base:latest': { manifest: BASE } } }))
    assert.equal(valid(f), undefined, 'output tag removed')
    writeFileSync(index, orig)
    assert.ok(valid(f))
    unlinkSync(join(f.root, 'content', 'blobs', 'sha256', CONFIG.slice(7)))
    assert.equal(valid(f), undefined, 'config blob gone')
  })
  it('a Dockerfile that is a symlink: an edit of its target invalidates it', () => {
    const real = join(f.root, '..', 'real.Dockerfile')
    writeFileSync(real, 'FROM base\n')
    const link = join(f.root, '..', 'link.Dockerfile')
    symlinkSync(real, link)
    utimesSync(real, new Date(Date.now() - 10_000), new Date(Date.now() - 10_000))
    assert.equal(recordMemo(f.input({ files: [link] })), true)
    assert.ok(valid(f))
    writeFileSync(real, 'FROM other\n')
    assert.equal(valid(f), undefined)
  })
  it('is not recorded when an input changed just before the build started (racy)', () => {
    assert.equal(recordMemo(f.input({ startedAt: Date.now() })), false)
    assert.equal(valid(f), undefined)
    // a Dockerfile outside the context counts too
    const outside = join(f.root, '..', 'Other.Dockerfile')
    writeFileSync(outside, 'FROM base\n')
    assert.equal(recordMemo(f.input({ startedAt: Date.now() + 500, files: [outside] })), false)
  })
})

describe('no-op memo: eligibility and replay', () => {
  it('only local builds into the image store are memoised', () => {
    const ok = (...args: string[]) => memoEligible(parseBuildArgs([...args, '.']))
    assert.equal(ok('-t', 'app'), true)
    assert.equal(ok('-o', 'type=image,name=app'), true)
    assert.equal(ok('-t', 'app', '--load'), true)
    assert.equal(ok('-t', 'app', '--secret', 'id=a,src=/etc/hostname'), true)
    assert.equal(ok(), false, 'no output')
    assert.equal(ok('-t', 'app', '--push'), false)
    assert.equal(ok('-o', 'type=image,name=app,push=true'), false)
    assert.equal(ok('-t', 'app', '-o', 'type=oci,dest=a.tar'), false)
    assert.equal(ok('-t', 'app', '--no-cache'), false)
    assert.equal(ok('-t', 'app', '--cache-to', 'type=local,dest=c'), false)
    assert.equal(ok('-t', 'app', '--cache-from', 'type=local,src=c'), false)
    assert.equal(ok('-t', 'app', '--build-context', 'x=../x'), false)
    assert.equal(ok('-t', 'app', '--progress', 'rawjson'), false)
    assert.equal(ok('-t', 'app', '-q'), false)
  })
  it('prints the all-cached progress and writes the metadata file', () => {
    const f = fixture()
    recordMemo(f.input())
    let err = ''
    const code = tryReplay(f.argv, f.env, { cwd: join(f.root, '..'), version: 'v1', stderr: (s) => (err += s) })
    assert.equal(code, 0)
    assert.equal(
      err,
      'WARNING: JSONArgsRecommended: Dockerfile:3: use JSON arguments\n#1 [1/2] FROM docker.io/library/base:latest\n#1 CACHED\n\n#2 [2/2] COPY src /src\n#2 CACHED\n\n#3 exporting to image\n#3 DONE 0.0s\n\n',
    )
    assert.equal(err, renderNoop(valid(f) as NonNullable<ReturnType<typeof valid>>))
    const meta = JSON.parse(readFileSync(join(f.root, '..', 'meta.json'), 'utf8')) as Record<string, unknown>
    assert.equal(meta['containerimage.digest'], MANIFEST)
    assert.equal(meta['cairn.noop'], true)
    // without a version, with CAIRN_NO_MEMO, or for another command: not replayed
    assert.equal(tryReplay(f.argv, f.env, { cwd: join(f.root, '..'), version: undefined, stderr: () => {} }), undefined)
    assert.equal(tryReplay(f.argv, { ...f.env, CAIRN_NO_MEMO: '1' }, { cwd: join(f.root, '..'), version: 'v1', stderr: () => {} }), undefined)
    assert.equal(tryReplay(['version'], f.env, { cwd: join(f.root, '..'), version: 'v1', stderr: () => {} }), undefined)
  })
  it('keeps at most 256 memos per root, dropping the oldest', () => {
    const f = fixture()
    for (let i = 0; i < 260; i++) recordMemo(f.input({ env: { ...f.env, SOURCE_DATE_EPOCH: String(i) } }))
    assert.equal(readdirSync(join(f.root, 'memo', 'noop')).length, 256)
    assert.ok(valid(f) === undefined && validMemo(f.root, f.args, join(f.root, '..'), { ...f.env, SOURCE_DATE_EPOCH: '259' }, 'v1'))
  })
  it('a memo file that is not JSON is ignored', () => {
    const f = fixture()
    recordMemo(f.input())
    writeFileSync(memoPath(f.root, f.args, join(f.root, '..'), f.env), '{garbage')
    assert.equal(tryReplay(f.argv, f.env, { cwd: join(f.root, '..'), version: 'v1', stderr: () => {} }), undefined)
  })
})

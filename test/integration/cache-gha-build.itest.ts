// `--cache-to/--cache-from type=gha` end to end: real cairn builds against the loopback GitHub
// Actions cache emulator (v2 Twirp and v1 REST) whose bytes live in Azurite, with the runner
// environment (ACTIONS_RUNTIME_TOKEN, ACTIONS_RESULTS_URL / ACTIONS_CACHE_URL) passed to cairn.
import assert from 'node:assert/strict'
import { rm } from 'node:fs/promises'
import { join } from 'node:path'
import { after, before, describe, it } from 'node:test'
import { type GhaEmulator, startGhaEmulator, type TokenScope } from '../fixtures/gha-emulator/index.ts'
import { buildBaseImage, cairn, hasStackTrace, missingPrerequisite, readJSON, steps, tempDir, writeTree } from '../helpers/cairn.ts'
import { type AzuriteHandle, startAzurite } from '../services/azurite.ts'
import { ranSteps, sha256File } from '../helpers/cache-fixture.ts'

const skip = await missingPrerequisite(['runc'])

// Random bytes in RUN steps: only a cache hit can give a byte-identical image on another machine.
// Three stages: `deps` and `app` are independent, the final stage combines them. The final stage
// copies /deps to another path: a COPY whose layer is byte-identical to the RUN layer it copies
// from shares that layer's blob, hence one createdAt in the cache, and the image history time of
// one of them can differ by a second after an import.
const DOCKERFILE = `FROM test/base:1 AS deps
RUN head -c 300000 /dev/urandom > /deps

FROM test/base:1 AS app
COPY src/ /src/
RUN cat /src/* > /joined && head -c 1000 /dev/urandom > /app-random

FROM test/base:1
COPY --from=deps /deps /app/deps
COPY --from=app /joined /app/joined
RUN head -c 200000 /dev/urandom > /app/random && echo done > /app/done
`
const MAIN = 'refs/heads/main'
const FEATURE = 'refs/heads/feature-x'
const BLOB = 'buildkit-blob-1-'

const sha = sha256File
const ran = async (file: string, re: RegExp) => ranSteps(await steps(file)).some((n) => re.test(n))

describe('type=gha cache through the CLI (GitHub Actions cache emulator over Azurite)', { skip }, () => {
  let azurite: AzuriteHandle
  let emu: GhaEmulator
  let ctx = ''
  let ctxFeature = ''
  let work = ''
  const roots: string[] = []

  before(async () => {
    azurite = await startAzurite()
    emu = await startGhaEmulator({ azurite })
    ctx = await tempDir('ghactx')
    ctxFeature = await tempDir('ghactx2')
    work = await tempDir('ghawork')
    await writeTree(ctx, { Dockerfile: DOCKERFILE, 'src/a.txt': 'a\n', 'src/b.txt': 'b\n' })
    await writeTree(ctxFeature, { Dockerfile: DOCKERFILE, 'src/a.txt': 'a\n', 'src/b.txt': 'b changed on feature-x\n' })
  })
  after(async () => {
    await emu?.close()
    await azurite?.stop()
    for (const d of [ctx, ctxFeature, work, ...roots]) await rm(d, { recursive: true, force: true })
  })

  const fresh = async () => {
    const r = await tempDir('gharoot')
    roots.push(r)
    await buildBaseImage(r)
    return r
  }
  /** The runner environment of a job whose token grants `scopes` (the test's own ACTIONS_* are blanked). */
  const runner = (version: 1 | 2, scopes: TokenScope[] = [{ scope: MAIN, permission: 3 }]): NodeJS.ProcessEnv => ({
    ACTIONS_RUNTIME_TOKEN: '',
    ACTIONS_CACHE_URL: '',
    ACTIONS_RESULTS_URL: '',
    ACTIONS_CACHE_SERVICE_V2: '',
    ...emu.env(version, emu.token({ scopes })),
  })
  const build = (root: string, name: string, args: string[], env: NodeJS.ProcessEnv, context = ctx) =>
    cairn(
      root,
      ['build', '--progress=plain', '--metadata-file', join(work, `${name}.json`), '-o', `type=oci,dest=${join(work, `${name}.tar`)}`, ...args, context],
      env,
    )
  const md = (name: string) => join(work, `${name}.json`)

  for (const version of [2, 1] as const) {
    it(`protocol v${version}: a fresh machine runs no RUN or COPY step and gets a byte-identical image; a second export uploads no blob`, async (t) => {
      const env = runner(version)
      const scope = `rt-v${version}`
      const first = emu.requests.length
      const t0 = performance.now()
      const r1 = await build(await fresh(), `v${version}-1`, ['--cache-to', `type=gha,scope=${scope},mode=max`], env)
      assert.equal(r1.code, 0, r1.stderr)
      const t1 = performance.now()
      const r2 = await build(await fresh(), `v${version}-2`, ['--cache-from', `type=gha,scope=${scope}`], env)
      assert.equal(r2.code, 0, r2.stderr)
      t.diagnostic(
        `v${version}: export build ${Math.round(t1 - t0)} ms, import build ${Math.round(performance.now() - t1)} ms (each including a fresh base image)`,
      )
      assert.deepEqual(ranSteps(await steps(md(`v${version}-2`))), [], 'no RUN or COPY step may run')
      assert.equal(await sha(join(work, `v${version}-2.tar`)), await sha(join(work, `v${version}-1.tar`)), 'byte-identical image')
      const used = emu.requests.slice(first)
      assert.ok(used.length > 0 && used.every((q) => q.protocol === version), `only protocol v${version} was spoken`)

      const blobs = emu.uploads(BLOB)
      const indexes = emu.uploads(`index-${scope}-`)
      const r3 = await build(await fresh(), `v${version}-3`, ['--cache-from', `type=gha,scope=${scope}`, '--cache-to', `type=gha,scope=${scope},mode=max`], env)
      assert.equal(r3.code, 0, r3.stderr)
      assert.equal(emu.uploads(BLOB), blobs, 'no blob uploaded again')
      assert.equal(emu.uploads(`index-${scope}-`), indexes + 1, 'one new index entry (SaveMutable)')
      const ex = await readJSON<{ 'cairn.cache.exports': Record<string, { uploaded: number; present: number }> }>(md(`v${version}-3`))
      assert.deepEqual(
        Object.values(ex['cairn.cache.exports']).map((x) => x.uploaded),
        [0],
      )
    })
  }

  it('scopes are kept apart: another scope attribute, or a branch the token cannot read, sees nothing', async () => {
    const feature = runner(2, [
      { scope: MAIN, permission: 1 },
      { scope: FEATURE, permission: 3 },
    ])
    const r1 = await build(await fresh(), 'apart1', ['--cache-to', 'type=gha,scope=apart,mode=max'], feature)
    assert.equal(r1.code, 0, r1.stderr)
    assert.ok(
      emu.entries().some((e) => e.scope === FEATURE && e.key.startsWith('index-apart-1-')),
      'written to the write scope of the token',
    )
    // another scope attribute: nothing found
    const r2 = await build(await fresh(), 'apart2', ['--cache-from', 'type=gha,scope=other'], feature)
    assert.equal(r2.code, 0, r2.stderr)
    assert.match(r2.stderr, /WARNING.*gha:other.*nothing found/)
    assert.ok(await ran(md('apart2'), /RUN head -c 300000/))
    // main's token cannot read feature-x's entries
    const r3 = await build(await fresh(), 'apart3', ['--cache-from', 'type=gha,scope=apart'], runner(2))
    assert.equal(r3.code, 0, r3.stderr)
    assert.ok(await ran(md('apart3'), /RUN head -c 300000/))
    // the same branch reads it
    const r4 = await build(await fresh(), 'apart4', ['--cache-from', 'type=gha,scope=apart'], feature)
    assert.equal(r4.code, 0, r4.stderr)
    assert.deepEqual(ranSteps(await steps(md('apart4'))), [])
  })

  it('per-branch scope with a fallback to main: a feature build finds part of its steps in each cache', async () => {
    const mainEnv = runner(2)
    const featureEnv = runner(2, [
      { scope: MAIN, permission: 1 },
      { scope: FEATURE, permission: 3 },
    ])
    const from = (s: string) => ['--cache-from', `type=gha,scope=${s}`]
    // main: the whole image, cached under scope=main
    const m = await build(await fresh(), 'fb-main', ['--cache-to', 'type=gha,scope=main,mode=max'], mainEnv)
    assert.equal(m.code, 0, m.stderr)
    // feature-x changed src/: an earlier job built and cached only the `app` stage under scope=feature-x
    const f = await build(
      await fresh(),
      'fb-app',
      ['--target', 'app', ...from('feature-x'), ...from('main'), '--cache-to', 'type=gha,scope=feature-x,mode=max'],
      featureEnv,
      ctxFeature,
    )
    assert.equal(f.code, 0, f.stderr)
    // a full feature-x build: `deps` comes from main's cache, `app` from feature-x's, the final RUN runs
    const both = await build(await fresh(), 'fb-both', [...from('feature-x'), ...from('main')], featureEnv, ctxFeature)
    assert.equal(both.code, 0, both.stderr)
    assert.equal(await ran(md('fb-both'), /RUN head -c 300000/), false, 'deps from scope=main')
    assert.equal(await ran(md('fb-both'), /RUN cat \/src/), false, 'app from scope=feature-x')
    assert.equal(await ran(md('fb-both'), /RUN head -c 200000/), true, 'the final stage changed')
    // each cache alone answers only its part
    const onlyMain = await build(await fresh(), 'fb-main-only', from('main'), featureEnv, ctxFeature)
    assert.equal(onlyMain.code, 0, onlyMain.stderr)
    assert.equal(await ran(md('fb-main-only'), /RUN cat \/src/), true)
    const onlyFeature = await build(await fresh(), 'fb-feature-only', from('feature-x'), featureEnv, ctxFeature)
    assert.equal(onlyFeature.code, 0, onlyFeature.stderr)
    assert.equal(await ran(md('fb-feature-only'), /RUN head -c 300000/), true)
  })

  it('one scope attribute reads the index of every GitHub scope the token grants (own branch, then main)', async () => {
    // feature-x and main both cached under scope=shared; feature-x's index holds only the app stage
    // (written first, so cairn's merge-on-export cannot copy main's records into it)
    const featureEnv = runner(2, [
      { scope: MAIN, permission: 1 },
      { scope: FEATURE, permission: 3 },
    ])
    const f = await build(await fresh(), 'gs-app', ['--target', 'app', '--cache-to', 'type=gha,scope=shared,mode=max'], featureEnv, ctxFeature)
    assert.equal(f.code, 0, f.stderr)
    const m = await build(await fresh(), 'gs-main', ['--cache-to', 'type=gha,scope=shared,mode=max'], runner(2))
    assert.equal(m.code, 0, m.stderr)
    const r = await build(await fresh(), 'gs-both', ['--cache-from', 'type=gha,scope=shared'], featureEnv, ctxFeature)
    assert.equal(r.code, 0, r.stderr)
    assert.equal(await ran(md('gs-both'), /RUN head -c 300000/), false, "deps from main's index")
    assert.equal(await ran(md('gs-both'), /RUN cat \/src/), false, "app from feature-x's index")
  })

  it('an evicted blob is a miss with a warning naming it; the build succeeds, and exports again', async () => {
    const env = runner(2)
    const known = new Set(emu.entries().map((e) => e.key))
    const r1 = await build(await fresh(), 'ev1', ['--cache-to', 'type=gha,scope=evict,mode=max'], env)
    assert.equal(r1.code, 0, r1.stderr)
    // the layer of the final stage's `RUN head -c 200000 /dev/urandom` written by this export
    const victim = emu.entries().find((e) => !known.has(e.key) && e.key.startsWith(BLOB) && e.committed && e.size > 200_000 && e.size < 210_000)
    assert.ok(victim, 'the 200 kB layer is in the cache')
    assert.equal(await emu.evict(victim.key), 1)
    const digest = victim.key.slice(`${BLOB}sha256:`.length)
    const r2 = await build(await fresh(), 'ev2', ['--cache-from', 'type=gha,scope=evict', '--cache-to', 'type=gha,scope=evict,mode=max'], env)
    assert.equal(r2.code, 0, r2.stderr)
    assert.match(r2.stderr, new RegExp(`WARNING.*${digest.slice(0, 12)}`))
    assert.ok(!hasStackTrace(r2.stderr), r2.stderr)
    assert.equal(await ran(md('ev2'), /RUN head -c 200000/), true, 'the step whose blob was evicted runs')
    assert.equal(await ran(md('ev2'), /RUN head -c 300000/), false, 'the others still hit')
    // the re-exported cache is whole again
    const r3 = await build(await fresh(), 'ev3', ['--cache-from', 'type=gha,scope=evict'], env)
    assert.equal(r3.code, 0, r3.stderr)
    assert.deepEqual(ranSteps(await steps(md('ev3'))), [])
    assert.equal(await sha(join(work, 'ev3.tar')), await sha(join(work, 'ev2.tar')))
  })

  it('429s are retried; persistent 429 fails the export with a clear throttling error, or warns with ignore-error=true', async () => {
    const env = runner(2)
    try {
      emu.throttle(3, 0)
      const r1 = await build(await fresh(), 'th1', ['--cache-to', 'type=gha,scope=throttle,mode=max'], env)
      assert.equal(r1.code, 0, r1.stderr)
      assert.equal(emu.requests.filter((q) => q.fault === 'throttle').length >= 3, true)
      const r2 = await build(await fresh(), 'th2', ['--cache-from', 'type=gha,scope=throttle'], env)
      assert.equal(r2.code, 0, r2.stderr)
      assert.deepEqual(ranSteps(await steps(md('th2'))), [], 'the cache written through the 429s is whole')

      emu.throttle(100_000, 0)
      const root = await fresh()
      const r3 = await build(root, 'th3', ['--cache-from', 'type=gha,scope=throttle', '--cache-to', 'type=gha,scope=throttle,mode=max'], env)
      assert.notEqual(r3.code, 0)
      assert.match(r3.stderr, /WARNING.*throttling requests \(429\)/, 'the import is a warning')
      assert.match(r3.stderr, /ERROR: failed to export cache to gha:throttle: GitHub Actions cache is throttling requests \(429\)/)
      assert.match(r3.stderr, /hint: .*mode=min/)
      assert.ok(!hasStackTrace(r3.stderr), r3.stderr)
      const r4 = await build(root, 'th4', ['--cache-to', 'type=gha,scope=throttle,mode=max,ignore-error=true'], env)
      assert.equal(r4.code, 0, r4.stderr)
      assert.match(r4.stderr, /WARNING.*ignore-error=true.*throttling requests \(429\)/)
    } finally {
      emu.clearFaults()
    }
  })

  it('without the runtime variables: a clear error naming what is missing', async () => {
    const r = await cairn(await fresh(), ['build', '--cache-to', 'type=gha,scope=x', ctx], {
      ACTIONS_RUNTIME_TOKEN: '',
      ACTIONS_CACHE_URL: '',
      ACTIONS_RESULTS_URL: '',
    })
    assert.notEqual(r.code, 0)
    assert.match(r.stderr, /token/)
    assert.match(r.stderr, /hint: .*ghaction-github-runtime/)
    assert.ok(!hasStackTrace(r.stderr), r.stderr)
  })
})

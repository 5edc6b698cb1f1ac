import assert from 'node:assert/strict'
import { open, readdir, readFile, rename, rm, stat, truncate, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { after, before, describe, it } from 'node:test'
import { buildBaseImage, cairn, hasStackTrace, missingPrerequisite, readJSON, removeTree, run, steps, tempDir, writeTree } from '../helpers/cairn.ts'
import { CACHE_DOCKERFILE, sha256File } from '../helpers/cache-fixture.ts'

const skip = await missingPrerequisite(['runc', 'skopeo', 'umoci'])

const DOCKERFILE = CACHE_DOCKERFILE

interface Env {
  ctx: string
  work: string
}

/** A fresh machine: a new --root with only the (deterministic) base image. */
async function freshRoot(): Promise<string> {
  const root = await tempDir('fresh')
  await buildBaseImage(root)
  return root
}

const sha = sha256File

describe('cache export/import with type=local', { skip }, () => {
  const e: Env = { ctx: '', work: '' }
  const roots: string[] = []
  const fresh = async () => {
    const r = await freshRoot()
    roots.push(r)
    return r
  }
  before(async () => {
    e.ctx = await tempDir('cctx')
    e.work = await tempDir('cwork')
    await writeTree(e.ctx, { Dockerfile: DOCKERFILE, 'src/a.txt': 'a\n', 'src/b.txt': 'b\n' })
  })
  after(async () => {
    for (const d of [e.ctx, e.work, ...roots]) await removeTree(d)
  })

  const build = (root: string, name: string, extra: string[]) =>
    cairn(root, ['build', '--progress=plain', '--metadata-file', join(e.work, `${name}.json`), '-o', `type=oci,dest=${join(e.work, `${name}.tar`)}`, ...extra, e.ctx])

  for (const compression of ['gzip', 'zstd', 'uncompressed']) {
    it(`mode=max, compression=${compression}: a fresh machine runs no RUN step and gets a byte-identical image`, async () => {
      const dest = join(e.work, `cache-max-${compression}`)
      const r1 = await build(await fresh(), `max1-${compression}`, ['--cache-to', `type=local,dest=${dest},mode=max,compression=${compression}`])
      assert.equal(r1.code, 0, r1.stderr)
      const r2 = await build(await fresh(), `max2-${compression}`, ['--cache-from', `type=local,src=${dest}`])
      assert.equal(r2.code, 0, r2.stderr)
      const s = await steps(join(e.work, `max2-${compression}.json`))
      assert.deepEqual(s.filter((x) => !x.cached && /\bRUN\b/.test(x.name)).map((x) => x.name), [], 'no RUN step may run')
      assert.equal(await sha(join(e.work, `max2-${compression}.tar`)), await sha(join(e.work, `max1-${compression}.tar`)), 'byte-identical image')
      // the exported layers use the requested compression
      const index = await readJSON<{ manifests: { digest: string }[] }>(join(dest, 'index.json'))
      const manifest = await readJSON<{ layers: { mediaType: string }[] }>(join(dest, 'blobs/sha256', (index.manifests[0]?.digest ?? '').slice(7)))
      const want = compression === 'uncompressed' ? 'application/vnd.oci.image.layer.v1.tar' : `application/vnd.oci.image.layer.v1.tar+${compression}`
      assert.ok(manifest.layers.length > 0 && manifest.layers.every((l) => l.mediaType === want), JSON.stringify(manifest.layers.map((l) => l.mediaType)))
    })
  }

  it('a fully cached build into an image archive extracts no layer: it checks the blobs against their diffIDs instead', async () => {
    const dest = join(e.work, 'cache-noextract')
    assert.equal((await build(await fresh(), 'noextract1', ['--cache-to', `type=local,dest=${dest},mode=max`])).code, 0)
    const root = await fresh()
    const snapshots = async () => (await readdir(join(root, 'snapshots'))).filter((n) => /^[a-z]\w{10,}$/.test(n)).sort()
    const before = await snapshots()
    const r = await build(root, 'noextract2', ['--cache-from', `type=local,src=${dest}`])
    assert.equal(r.code, 0, r.stderr)
    assert.deepEqual((await steps(join(e.work, 'noextract2.json'))).filter((x) => !x.cached && /\b(RUN|COPY)\b/.test(x.name)), [])
    assert.deepEqual(await snapshots(), before, 'only the base image has snapshots')
    assert.equal(await sha(join(e.work, 'noextract2.tar')), await sha(join(e.work, 'noextract1.tar')))
  })

  it('mode=min reuses only the final stage chain; the build stage never runs when the final result hits', async () => {
    const dest = join(e.work, 'cache-min')
    const r1 = await build(await fresh(), 'min1', ['--cache-to', `type=local,dest=${dest}`])
    assert.equal(r1.code, 0, r1.stderr)
    const r2 = await build(await fresh(), 'min2', ['--cache-from', `type=local,src=${dest}`])
    assert.equal(r2.code, 0, r2.stderr)
    const s = await steps(join(e.work, 'min2.json'))
    assert.deepEqual(s.filter((x) => !x.cached).map((x) => x.name), [])
    assert.equal(await sha(join(e.work, 'min2.tar')), await sha(join(e.work, 'min1.tar')))
    // --target build: its records were exported without results in mode=min, so its RUN steps run
    const r3 = await cairn(await fresh(), ['build', '--progress=plain', '--metadata-file', join(e.work, 'min3.json'), '--target', 'build', '--cache-from', `type=local,src=${dest}`, e.ctx])
    assert.equal(r3.code, 0, r3.stderr)
    assert.ok((await steps(join(e.work, 'min3.json'))).some((x) => !x.cached && /RUN head -c 1000000/.test(x.name)))
  })

  it('merges several --cache-from: caches of two stages exported apart give the union of hits', async () => {
    const a = join(e.work, 'cache-stage-build')
    const b = join(e.work, 'cache-stage-final')
    const root1 = await fresh()
    const r1 = await cairn(root1, ['build', '--progress=plain', '--target', 'build', '--cache-to', `type=local,dest=${a},mode=max`, e.ctx])
    assert.equal(r1.code, 0, r1.stderr)
    const r2 = await build(root1, 'merge1', ['--cache-to', `type=local,dest=${b},mode=min`])
    assert.equal(r2.code, 0, r2.stderr)
    const r3 = await build(await fresh(), 'merge2', ['--cache-from', `type=local,src=${a}`, '--cache-from', `type=local,src=${b}`])
    assert.equal(r3.code, 0, r3.stderr)
    assert.deepEqual((await steps(join(e.work, 'merge2.json'))).filter((x) => !x.cached).map((x) => x.name), [])
  })

  it('a second export of an unchanged cache writes no blob; skopeo and umoci read the cache directory', async () => {
    const dest = join(e.work, 'cache-max-gzip')
    const before = new Set(await readdir(join(dest, 'blobs/sha256')))
    const r = await build(await fresh(), 'again', ['--cache-from', `type=local,src=${dest}`, '--cache-to', `type=local,dest=${dest},mode=max`])
    assert.equal(r.code, 0, r.stderr)
    const md = await readJSON<{ 'cairn.cache.exports': Record<string, { uploaded: number }> }>(join(e.work, 'again.json'))
    assert.deepEqual(Object.values(md['cairn.cache.exports']).map((x) => x.uploaded), [0])
    const afterSet = new Set(await readdir(join(dest, 'blobs/sha256')))
    assert.deepEqual([...afterSet].filter((x) => !before.has(x)), [])
    const raw = await run('skopeo', ['inspect', '--raw', `oci:${dest}:latest`])
    assert.equal(raw.code, 0, raw.stderr)
    assert.equal(JSON.parse(raw.stdout).config.mediaType, 'application/vnd.buildkit.cacheconfig.v0')
    const ls = await run('umoci', ['ls', '--layout', dest])
    assert.equal(ls.code, 0, ls.stderr)
    assert.match(ls.stdout, /latest/)
  })

  describe('a broken cache is a miss with a warning, never a failed build', () => {
    const layerBlobs = async (dest: string) => {
      const index = await readJSON<{ manifests: { digest: string }[] }>(join(dest, 'index.json'))
      const m = await readJSON<{ layers: { digest: string; size: number }[] }>(join(dest, 'blobs/sha256', (index.manifests[0]?.digest ?? '').slice(7)))
      return m.layers.map((l) => ({ path: join(dest, 'blobs/sha256', l.digest.slice(7)), ...l })).sort((x, y) => y.size - x.size)
    }
    const faults: [string, (p: string) => Promise<void>][] = [
      ['deleted', (p) => rm(p)],
      ['truncated', async (p) => truncate(p, Math.floor((await stat(p)).size / 2))],
      [
        'bit-flipped',
        async (p) => {
          const fh = await open(p, 'r+')
          const b = Buffer.alloc(1)
          await fh.read(b, 0, 1, 100)
          b[0] = (b[0] as number) ^ 0xff
          await fh.write(b, 0, 1, 100)
          await fh.close()
        },
      ],
    ]
    for (const [what, damage] of faults) {
      it(`a ${what} layer blob`, async () => {
        const dest = join(e.work, `cache-fault-${what}`)
        const r1 = await build(await fresh(), `fault1-${what}`, ['--cache-to', `type=local,dest=${dest},mode=max`])
        assert.equal(r1.code, 0, r1.stderr)
        // the layer of the final stage's `RUN head -c 200000 /dev/urandom` (random bytes do not compress)
        const victim = (await layerBlobs(dest)).find((l) => l.size > 200_000 && l.size < 210_000)
        assert.ok(victim)
        await damage(victim.path)
        const r2 = await build(await fresh(), `fault2-${what}`, ['--cache-from', `type=local,src=${dest}`])
        assert.equal(r2.code, 0, r2.stderr)
        assert.match(r2.stderr, /WARNING/)
        assert.match(r2.stderr, new RegExp(victim.digest.slice(7, 19)))
        assert.ok(!hasStackTrace(r2.stderr), r2.stderr)
        const ran = (await steps(join(e.work, `fault2-${what}.json`))).filter((x) => !x.cached).map((x) => x.name)
        assert.ok(ran.some((n) => /RUN head -c 200000/.test(n)), `the step whose blob is broken runs: ${ran.join(', ')}`)
      })
    }
    it('a deleted blob in the destination of a merging export: the stale result is dropped, the export succeeds and is whole', async () => {
      const dest = join(e.work, 'cache-fault-remerge')
      assert.equal((await build(await fresh(), 'remerge1', ['--cache-to', `type=local,dest=${dest},mode=max`])).code, 0)
      const victim = (await layerBlobs(dest)).find((l) => l.size > 200_000 && l.size < 210_000)
      assert.ok(victim)
      await rm(victim.path)
      // the step reruns (a new random layer); the export merges the old index, which names the deleted blob
      const r2 = await build(await fresh(), 'remerge2', ['--cache-from', `type=local,src=${dest}`, '--cache-to', `type=local,dest=${dest},mode=max`])
      assert.equal(r2.code, 0, r2.stderr)
      // every blob the new cache names exists, and a fresh machine gets every step from it
      const index = await readJSON<{ manifests: { digest: string }[] }>(join(dest, 'index.json'))
      const manifest = await readJSON<{ config: { digest: string }; layers: { digest: string }[] }>(join(dest, 'blobs/sha256', (index.manifests[0]?.digest ?? '').slice(7)))
      for (const d of [manifest.config.digest, ...manifest.layers.map((l) => l.digest)]) await stat(join(dest, 'blobs/sha256', d.slice(7)))
      assert.ok(!manifest.layers.some((l) => l.digest === victim.digest), 'the deleted blob is not named')
      const r3 = await build(await fresh(), 'remerge3', ['--cache-from', `type=local,src=${dest}`])
      assert.equal(r3.code, 0, r3.stderr)
      assert.deepEqual((await steps(join(e.work, 'remerge3.json'))).filter((x) => !x.cached && /\bRUN\b/.test(x.name)).map((x) => x.name), [])
      assert.equal(await sha(join(e.work, 'remerge3.tar')), await sha(join(e.work, 'remerge2.tar')))
    })
    it('a layer blob cut short in the local store (a crash before it reached the disk) is packed again by the next export', async () => {
      const root = await fresh()
      const first = join(e.work, 'cache-short-1')
      assert.equal((await build(root, 'short1', ['--cache-to', `type=local,dest=${first},mode=max`])).code, 0)
      const victim = (await layerBlobs(first)).find((l) => l.size > 200_000 && l.size < 210_000)
      assert.ok(victim)
      // the store's copy loses its second half (a new file: the cache directory holds a hard link to the old one)
      const stored = join(root, 'content/blobs/sha256', victim.digest.slice(7))
      const half = (await readFile(stored)).subarray(0, Math.floor(victim.size / 2))
      await writeFile(`${stored}.cut`, half)
      await rename(`${stored}.cut`, stored)
      const second = join(e.work, 'cache-short-2')
      const r = await build(root, 'short2', ['--cache-to', `type=local,dest=${second},mode=max`])
      assert.equal(r.code, 0, r.stderr)
      assert.deepEqual((await steps(join(e.work, 'short2.json'))).filter((x) => !x.cached).map((x) => x.name), [], 'a fully cached build')
      // the new cache and the store both hold the whole blob again
      for (const p of [join(second, 'blobs/sha256', victim.digest.slice(7)), stored]) {
        assert.equal((await stat(p)).size, victim.size, p)
        assert.equal(`sha256:${await sha(p)}`, victim.digest, p)
      }
    })
    it('an index.json that is garbage', async () => {
      const dest = join(e.work, 'cache-garbage')
      assert.equal((await build(await fresh(), 'garbage1', ['--cache-to', `type=local,dest=${dest}`])).code, 0)
      await writeFile(join(dest, 'index.json'), '{ not json')
      const r = await build(await fresh(), 'garbage2', ['--cache-from', `type=local,src=${dest}`])
      assert.equal(r.code, 0, r.stderr)
      assert.match(r.stderr, /WARNING.*index\.json/)
    })
  })

  it('an export killed halfway leaves the previous cache importable; concurrent exports leave one intact cache', async () => {
    const dest = join(e.work, 'cache-kill')
    const root = await fresh()
    assert.equal((await build(root, 'kill1', ['--cache-to', `type=local,dest=${dest},mode=max`])).code, 0)
    const indexBefore = await readFile(join(dest, 'index.json'), 'utf8')
    // change a file so the next export has new blobs, and kill it while it writes them
    await writeFile(join(e.ctx, 'src/c.txt'), 'c\n')
    try {
      const child = (await import('node:child_process')).spawn(join(import.meta.dirname, '../../bin/cairn'), ['build', '--root', root, '-q', '--cache-to', `type=local,dest=${dest},mode=max,compression=zstd,force-compression=true`, e.ctx])
      await new Promise((r) => setTimeout(r, 300))
      child.kill('SIGKILL')
      await new Promise((r) => child.on('close', r))
      const idx = await readFile(join(dest, 'index.json'), 'utf8')
      assert.ok(idx === indexBefore || JSON.parse(idx).manifests.length >= 1, 'index.json is the old one or a complete new one')
      const r = await build(await fresh(), 'kill2', ['--cache-from', `type=local,src=${dest}`])
      assert.equal(r.code, 0, r.stderr)
      // two exports at once to one dest: the result is one of the two, intact
      const [x, y] = await Promise.all([
        build(await fresh(), 'conc1', ['--cache-to', `type=local,dest=${join(e.work, 'cache-conc')},mode=max`]),
        build(await fresh(), 'conc2', ['--cache-to', `type=local,dest=${join(e.work, 'cache-conc')},mode=max,compression=zstd`]),
      ])
      assert.equal(x.code, 0, x.stderr)
      assert.equal(y.code, 0, y.stderr)
      const check = await run('skopeo', ['inspect', '--raw', `oci:${join(e.work, 'cache-conc')}:latest`])
      assert.equal(check.code, 0, check.stderr)
      const r3 = await build(await fresh(), 'conc3', ['--cache-from', `type=local,src=${join(e.work, 'cache-conc')}`])
      assert.equal(r3.code, 0, r3.stderr)
      assert.deepEqual((await steps(join(e.work, 'conc3.json'))).filter((s) => !s.cached).map((s) => s.name), [])
    } finally {
      await rm(join(e.ctx, 'src/c.txt'), { force: true })
    }
  })

  it('rejects an unknown cache type or attribute with the valid ones, without a stack trace', async () => {
    const root = await fresh()
    const bad = await cairn(root, ['build', '--cache-to', 'type=nope,dest=x', e.ctx])
    assert.notEqual(bad.code, 0)
    assert.match(bad.stderr, /unknown cache type "nope"/)
    assert.match(bad.stderr, /local, registry, inline, gha, s3, azblob/)
    const attr = await cairn(root, ['build', '--cache-to', 'type=local,dset=x', e.ctx])
    assert.notEqual(attr.code, 0)
    assert.match(attr.stderr, /dset/)
    assert.ok(!hasStackTrace(bad.stderr + attr.stderr))
    // ignore-error turns an export failure into a warning
    const ign = await cairn(root, ['build', '--progress=plain', '--cache-to', 'type=local,dest=/etc/hostname/not-a-dir,ignore-error=true', e.ctx])
    assert.equal(ign.code, 0, ign.stderr)
    assert.match(ign.stderr, /WARNING.*ignore-error/)
    const fail = await cairn(root, ['build', '--progress=plain', '--cache-to', 'type=local,dest=/etc/hostname/not-a-dir', e.ctx])
    assert.notEqual(fail.code, 0)
    assert.match(fail.stderr, /ERROR: failed to export cache/)
  })
})

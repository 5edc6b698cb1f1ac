/**
 * The local cache transport against the CacheTransport contract, plus layout-specific behaviour:
 * concurrent exporters, a killed export, a corrupt index.json, and acceptance of the written layout
 * by independent OCI tools (skopeo, umoci).
 */
import assert from 'node:assert/strict'
import { execFile } from 'node:child_process'
import { mkdir, mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Readable } from 'node:stream'
import { describe, test } from 'node:test'
import { promisify } from 'node:util'
import { createLocalTransport } from '../../src/cache/backends/local/index.ts'
import { CacheGraphBuilder, decodeCacheConfig, encodeCacheConfig, unwrap, wrapManifest } from '../../src/cache/format/index.ts'
import { type Digest, sha256 } from '../../src/core/digest.ts'
import { FailedPreconditionError, InvalidArgumentError } from '../../src/core/errors.ts'
import { cacheTransportSuite, refDocument } from '../../src/testing/cache-transport-suite.ts'

const run = promisify(execFile)
const MANIFEST_MT = 'application/vnd.oci.image.manifest.v1+json'
const largeBlobSize = process.env.CAIRN_SUITE_LARGE === '256' ? 256 * 1024 * 1024 : 64 * 1024 * 1024

async function tempDir(): Promise<string> {
  return mkdtemp(join(tmpdir(), 'cairn-local-cache-'))
}

cacheTransportSuite(
  'local',
  async () => {
    const root = await tempDir()
    return { transport: createLocalTransport({ dir: join(root, 'cache'), mode: 'export' }), cleanup: () => rm(root, { recursive: true, force: true }) }
  },
  { largeBlobSize },
)

/** Exports a small real cache (gzip layer blob, config, image-manifest wrapper) under `tag`. */
async function exportCache(dir: string, tag: string, seed: string): Promise<{ manifest: Digest; layer: Digest }> {
  const t = createLocalTransport({ dir, mode: 'export' })
  const { gzipSync } = await import('node:zlib')
  const tar = Buffer.alloc(1024, seed)
  const blob = gzipSync(tar)
  const layer = {
    mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip',
    digest: sha256(blob),
    size: blob.length,
    annotations: { 'containerd.io/uncompressed': sha256(tar), 'buildkit/createdat': '2025-01-01T00:00:00Z' },
  }
  const b = new CacheGraphBuilder()
  const root = b.addRecord(sha256(`root-${seed}`))
  const rec = b.addRecord(sha256(`run-${seed}`), [[{ record: root }]])
  b.addResult(rec, [layer], '2025-01-01T00:00:00Z')
  const enc = encodeCacheConfig(b.graph())
  await t.putBlob(layer, () => Readable.from([blob]))
  await t.putBlob(enc.configDescriptor, () => Readable.from([Buffer.from(enc.config)]))
  const w = wrapManifest(enc.configDescriptor, enc.layers)
  await t.writeRef(tag, w.bytes, w.mediaType)
  return { manifest: w.descriptor.digest, layer: layer.digest }
}

async function tags(dir: string): Promise<Record<string, string>> {
  const idx = JSON.parse(await readFile(join(dir, 'index.json'), 'utf8'))
  return Object.fromEntries(
    idx.manifests.map((m: { digest: string; annotations: Record<string, string> }) => [m.annotations['org.opencontainers.image.ref.name'], m.digest]),
  )
}

describe('local cache transport: layout behaviour', () => {
  test('writes a standard layout; readRef by tag and by digest; a full cache round-trips', async () => {
    const root = await tempDir()
    try {
      const dir = join(root, 'c')
      const { manifest } = await exportCache(dir, 'latest', 'a')
      assert.equal(await readFile(join(dir, 'oci-layout'), 'utf8'), '{"imageLayoutVersion":"1.0.0"}')
      const idx = JSON.parse(await readFile(join(dir, 'index.json'), 'utf8'))
      assert.equal(idx.schemaVersion, 2)
      assert.equal(idx.mediaType, 'application/vnd.oci.image.index.v1+json')
      assert.deepEqual(await readdir(dir).then((x) => x.filter((n) => n.endsWith('.lock'))), [], 'lock removed')
      const imp = createLocalTransport({ dir, mode: 'import' })
      const bytes = await imp.readRef('latest')
      assert.ok(bytes)
      assert.deepEqual(await imp.readRef(manifest), bytes, 'digest= form')
      assert.equal((await imp.resolveRef('latest'))?.mediaType, MANIFEST_MT)
      const u = unwrap(bytes)
      const cfg = await imp.readRef(u.configDescriptor?.digest as string)
      const g = decodeCacheConfig(cfg as Uint8Array, { descriptors: u.layers })
      assert.equal(g.records.find((r) => r.results.length > 0)?.results[0]?.chain.length, 1)
      await assert.rejects(imp.writeRef('x', refDocument('x'), MANIFEST_MT), InvalidArgumentError, 'import mode is read-only')
      assert.equal(await createLocalTransport({ dir: join(root, 'none'), mode: 'import' }).readRef('latest'), undefined, 'missing directory → no ref')
    } finally {
      await rm(root, { recursive: true, force: true })
    }
  })

  test('oci-layout: written by the first export, left as it is by the next, rewritten when damaged or missing', async () => {
    const root = await tempDir()
    try {
      const dir = join(root, 'c')
      const file = join(dir, 'oci-layout')
      await exportCache(dir, 'latest', 'a')
      const first = await stat(file)
      await exportCache(dir, 'latest', 'b')
      assert.equal((await stat(file)).ino, first.ino, 'an intact marker is not replaced')
      await writeFile(file, '{"imageLayoutVersion":"0.9"}')
      await exportCache(dir, 'latest', 'c')
      assert.equal(await readFile(file, 'utf8'), '{"imageLayoutVersion":"1.0.0"}')
      await rm(file)
      await exportCache(dir, 'latest', 'd')
      assert.equal(await readFile(file, 'utf8'), '{"imageLayoutVersion":"1.0.0"}')
      assert.deepEqual(Object.keys(await tags(dir)), ['latest'])
    } finally {
      await rm(root, { recursive: true, force: true })
    }
  })

  test('two concurrent writers keep an intact index with every tag (different tags) or one of the results (same tag)', async () => {
    const root = await tempDir()
    try {
      const dir = join(root, 'c')
      const a = createLocalTransport({ dir, mode: 'export' })
      const b = createLocalTransport({ dir, mode: 'export' })
      const writes: Promise<void>[] = []
      for (let i = 0; i < 25; i++) {
        writes.push(a.writeRef(`a-${i}`, refDocument(`a-${i}`), MANIFEST_MT))
        writes.push(b.writeRef(`b-${i}`, refDocument(`b-${i}`), MANIFEST_MT))
      }
      await Promise.all(writes)
      assert.equal(Object.keys(await tags(dir)).length, 50)
      await Promise.all([a.writeRef('same', refDocument('from-a'), MANIFEST_MT), b.writeRef('same', refDocument('from-b'), MANIFEST_MT)])
      const got = sha256((await a.readRef('same')) as Uint8Array)
      assert.ok([sha256(refDocument('from-a')), sha256(refDocument('from-b'))].includes(got))
      const idx = JSON.parse(await readFile(join(dir, 'index.json'), 'utf8'))
      assert.equal(
        idx.manifests.filter((m: { annotations: Record<string, string> }) => m.annotations['org.opencontainers.image.ref.name'] === 'same').length,
        1,
      )
    } finally {
      await rm(root, { recursive: true, force: true })
    }
  })

  test('concurrent writers in separate processes keep every tag', async () => {
    const root = await tempDir()
    try {
      const dir = join(root, 'c')
      const script = `
        import { createLocalTransport } from ${JSON.stringify(new URL('../../src/cache/backends/local/index.ts', import.meta.url).pathname)}
        const t = createLocalTransport({ dir: process.argv[1], mode: 'export' })
        for (let i = 0; i < 15; i++) await t.writeRef(process.argv[2] + '-' + i, Buffer.from(JSON.stringify({ schemaVersion: 2, n: process.argv[2] + i })), 'application/vnd.oci.image.manifest.v1+json')
      `
      await Promise.all(['p', 'q', 'r'].map((who) => run(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script, dir, who])))
      assert.equal(Object.keys(await tags(dir)).length, 45)
    } finally {
      await rm(root, { recursive: true, force: true })
    }
  })

  test('a killed export (blobs and manifest written, index not replaced, lock and temp files left) keeps the old ref', async () => {
    const root = await tempDir()
    try {
      const dir = join(root, 'c')
      const old = await exportCache(dir, 'latest', 'old')
      // The half-done export: its blobs and manifest blob are in place, but index.json was never replaced.
      const t = createLocalTransport({ dir, mode: 'export', staleLockMs: 200 })
      const half = refDocument('half-done')
      await t.putBlob({ digest: sha256(half), size: half.length, mediaType: MANIFEST_MT }, () => Readable.from([Buffer.from(half)]))
      await writeFile(join(dir, 'index.json.lock'), '4242\n')
      await writeFile(join(dir, '.write-4242-deadbeef.tmp'), '{"schemaVersion":2,"manif')
      await mkdir(join(dir, 'ingest'), { recursive: true })
      await writeFile(join(dir, 'ingest', 'abc-4242-x.tmp'), 'partial')
      assert.equal((await tags(dir)).latest, old.manifest)
      assert.equal(sha256((await t.readRef('latest')) as Uint8Array), old.manifest)
      // The next export waits out the stale lock and succeeds.
      await new Promise((r) => setTimeout(r, 250))
      await t.writeRef('next', refDocument('next'), MANIFEST_MT)
      assert.deepEqual(Object.keys(await tags(dir)).sort(), ['latest', 'next'])
    } finally {
      await rm(root, { recursive: true, force: true })
    }
  })

  test('a garbage index.json is a FailedPreconditionError naming the file (read and write)', async () => {
    const root = await tempDir()
    try {
      const dir = join(root, 'c')
      await exportCache(dir, 'latest', 'g')
      const t = createLocalTransport({ dir, mode: 'export' })
      for (const garbage of ['{not json', '[]', '{"manifests":{}}', '{"manifests":[{"digest":"sha256:nothex","size":1}]}']) {
        await writeFile(join(dir, 'index.json'), garbage)
        const isLayoutError = (e: unknown): boolean =>
          e instanceof FailedPreconditionError && e.message.includes(join(dir, 'index.json')) && /delete/.test(e.hint ?? '')
        await assert.rejects(t.readRef('latest'), isLayoutError, garbage)
        await assert.rejects(t.writeRef('latest', refDocument('x'), MANIFEST_MT), isLayoutError, garbage)
        assert.equal(await readFile(join(dir, 'index.json'), 'utf8'), garbage, 'a corrupt index is not clobbered')
      }
    } finally {
      await rm(root, { recursive: true, force: true })
    }
  })

  test('a tag pointing to a deleted blob is reported, not silently ignored', async () => {
    const root = await tempDir()
    try {
      const dir = join(root, 'c')
      const { manifest } = await exportCache(dir, 'latest', 'd')
      await rm(join(dir, 'blobs', 'sha256', manifest.slice(7)))
      await assert.rejects(createLocalTransport({ dir, mode: 'import' }).readRef('latest'), /points to missing blob/)
    } finally {
      await rm(root, { recursive: true, force: true })
    }
  })

  for (const tool of ['skopeo', 'umoci'] as const) {
    test(`the layout is accepted by ${tool}`, async (t) => {
      const found = await run('which', [tool]).then(
        () => true,
        () => false,
      )
      if (!found) {
        t.skip(`${tool} is not installed`)
        return
      }
      const root = await tempDir()
      try {
        const dir = join(root, 'c')
        const a = await exportCache(dir, 'latest', 'x')
        await exportCache(dir, 'main', 'y')
        // Leftovers of a killed export must not upset the readers either.
        await mkdir(join(dir, 'ingest'), { recursive: true })
        await writeFile(join(dir, 'ingest', 'left-1.tmp'), 'partial')
        if (tool === 'skopeo') {
          const { stdout } = await run('skopeo', ['inspect', '--raw', `oci:${dir}:latest`])
          assert.equal(sha256(Buffer.from(stdout)), a.manifest, 'skopeo returns the manifest bytes we wrote')
          assert.equal(JSON.parse(stdout).config.mediaType, 'application/vnd.buildkit.cacheconfig.v0')
        } else {
          const { stdout } = await run('umoci', ['ls', '--layout', dir])
          assert.deepEqual(stdout.trim().split('\n').sort(), ['latest', 'main'])
        }
      } finally {
        await rm(root, { recursive: true, force: true })
      }
    })
  }
})

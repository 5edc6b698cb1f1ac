/**
 * The contract every CacheTransport implementation must pass (see src/cache/remote/transport.ts).
 * Register it from a test file: `cacheTransportSuite('local', async () => ({ transport, cleanup }))`.
 * Each test gets a fresh transport from the factory and calls cleanup afterwards.
 */
import assert from 'node:assert/strict'
import { createHash } from 'node:crypto'
import { Readable } from 'node:stream'
import { describe, type TestContext, test } from 'node:test'
import type { CacheTransport } from '../cache/remote/transport.ts'
import type { Descriptor } from '../core/descriptor.ts'
import { type Digest, sha256 } from '../core/digest.ts'
import { FailedPreconditionError, NotFoundError, UnavailableError } from '../core/errors.ts'
import { prngBytes, prngDigest, prngStream } from './prng.ts'
import { readAll, withRss } from './rss.ts'

export interface TransportUnderTest {
  transport: CacheTransport
  cleanup(): Promise<void>
}

export interface CacheTransportSuiteOptions {
  /** Size of the streaming test blob (default 64 MiB; 256 MiB for the full proof); false skips it. */
  largeBlobSize?: number | false
  /** Allowed RSS growth while streaming the large blob (default 100 MB). */
  rssLimitBytes?: number
  /** Whether putBlob verifies digest and size (default true; the contract allows "where the store allows"). */
  verifiesUploads?: boolean
  /** Per-test timeout (default 120 s). */
  timeoutMs?: number
  /**
   * Size at which the transport switches to multipart/block uploads: when set, the wrong-digest,
   * wrong-size and abort cases also run with bodies of that size (several parts in flight).
   */
  multipartBytes?: number
}

const BLOB_MT = 'application/vnd.oci.image.layer.v1.tar+gzip'
const MANIFEST_MT = 'application/vnd.oci.image.manifest.v1+json'

/** A valid OCI image manifest of about `pad` bytes, distinct per `tag` (refs are manifests for some transports). */
export function refDocument(tag: string, pad = 0): Uint8Array {
  const doc = {
    schemaVersion: 2,
    mediaType: MANIFEST_MT,
    config: { mediaType: 'application/vnd.buildkit.cacheconfig.v0', digest: sha256(tag), size: tag.length },
    layers: [],
    annotations: {
      'org.cairn.test': tag,
      'org.cairn.pad': String(tag)
        .repeat(Math.ceil(pad / Math.max(1, tag.length)))
        .slice(0, pad),
    },
  }
  return Buffer.from(JSON.stringify(doc))
}

const descOf = (b: Uint8Array): Pick<Descriptor, 'digest' | 'size' | 'mediaType'> => ({ digest: sha256(b), size: b.length, mediaType: BLOB_MT })
const bodyOf = (b: Uint8Array) => () => Readable.from([Buffer.from(b)])


async function withTransport(factory: () => Promise<TransportUnderTest>, fn: (t: CacheTransport) => Promise<void>): Promise<void> {
  const { transport, cleanup } = await factory()
  try {
    await fn(transport)
  } finally {
    await cleanup()
  }
}

async function assertInvisible(t: CacheTransport, d: Digest, why: string): Promise<void> {
  assert.equal(await t.statBlob(d), undefined, `${why}: statBlob(${d}) must be undefined`)
  await assert.rejects(t.openBlob({ digest: d, size: 0 }), NotFoundError, `${why}: openBlob must reject with NotFoundError`)
}

export function cacheTransportSuite(name: string, factory: () => Promise<TransportUnderTest>, opts: CacheTransportSuiteOptions = {}): void {
  const timeout = opts.timeoutMs ?? 120_000
  const verifies = opts.verifiesUploads ?? true
  const it = (title: string, fn: (t: CacheTransport, ctx: TestContext) => Promise<void>): void => {
    test(title, { timeout }, (ctx) => withTransport(factory, (t) => fn(t, ctx)))
  }

  describe(`CacheTransport contract: ${name}`, () => {
    it('statBlob of a missing blob resolves undefined; openBlob rejects with NotFoundError', async (t) => {
      await assertInvisible(t, sha256('never written'), 'missing blob')
    })

    it('putBlob then statBlob/openBlob round-trips byte-exact (including an empty blob)', async (t) => {
      for (const bytes of [prngBytes(1, 1 << 20), Buffer.alloc(0), Buffer.from('x')]) {
        const d = descOf(bytes)
        await t.putBlob(d, bodyOf(bytes))
        const info = await t.statBlob(d.digest)
        assert.equal(info?.digest, d.digest)
        assert.equal(info?.size, d.size)
        const got = await readAll(await t.openBlob(d))
        assert.equal(got.length, bytes.length)
        assert.ok(got.equals(bytes), 'bytes differ')
      }
    })

    it('putBlob is idempotent', async (t) => {
      const bytes = prngBytes(2, 4096)
      const d = descOf(bytes)
      await t.putBlob(d, bodyOf(bytes))
      await t.putBlob(d, bodyOf(bytes))
      await Promise.all([t.putBlob(d, bodyOf(bytes)), t.putBlob(d, bodyOf(bytes))])
      assert.ok((await readAll(await t.openBlob(d))).equals(bytes))
    })

    if (verifies) {
      it('putBlob with a wrong digest rejects and leaves nothing visible', async (t) => {
        const bytes = prngBytes(3, 10_000)
        const claimed = sha256('something else')
        await assert.rejects(t.putBlob({ ...descOf(bytes), digest: claimed }, bodyOf(bytes)))
        await assertInvisible(t, claimed, 'wrong digest')
        await assertInvisible(t, sha256(bytes), 'wrong digest (actual digest)')
      })

      it('putBlob with a wrong size (too small or too big) rejects and leaves nothing visible', async (t) => {
        const bytes = prngBytes(4, 10_000)
        for (const size of [bytes.length - 1, bytes.length + 1]) {
          await assert.rejects(t.putBlob({ ...descOf(bytes), size }, bodyOf(bytes)), `declared size ${size}`)
          await assertInvisible(t, sha256(bytes), `declared size ${size}`)
        }
      })
    }

    it('a body that fails mid-way rejects the upload and leaves nothing visible', async (t) => {
      const bytes = prngBytes(5, 256 * 1024)
      const body = () =>
        Readable.from(
          (async function* () {
            yield bytes.subarray(0, 65536)
            throw new UnavailableError('source broke (injected by the suite)')
          })(),
        )
      await assert.rejects(t.putBlob(descOf(bytes), body))
      await assertInvisible(t, sha256(bytes), 'failed body')
    })

    it('aborting mid-upload rejects with the reason and leaves nothing visible', async (t) => {
      const bytes = prngBytes(6, 1 << 20)
      const ac = new AbortController()
      const reason = new Error('stop now')
      const body = () =>
        Readable.from(
          (async function* () {
            yield bytes.subarray(0, 65536)
            ac.abort(reason)
            await new Promise((r) => setTimeout(r, 50))
            yield bytes.subarray(65536)
          })(),
        )
      await assert.rejects(t.putBlob(descOf(bytes), body, { signal: ac.signal }), (e: unknown) => e === reason)
      await new Promise((r) => setTimeout(r, 50))
      await assertInvisible(t, sha256(bytes), 'aborted upload')
    })

    it('every method rejects with the reason of an already-aborted signal', async (t) => {
      const bytes = prngBytes(7, 100)
      await t.putBlob(descOf(bytes), bodyOf(bytes))
      await t.writeRef('suite-aborted', refDocument('a'), MANIFEST_MT)
      const ac = new AbortController()
      const reason = new Error('aborted by test')
      ac.abort(reason)
      const o = { signal: ac.signal }
      const is = (e: unknown): boolean => e === reason
      await assert.rejects(t.statBlob(sha256(bytes), o), is, 'statBlob')
      await assert.rejects(t.openBlob(descOf(bytes), o), is, 'openBlob')
      await assert.rejects(t.putBlob(descOf(Buffer.from('new')), bodyOf(Buffer.from('new')), o), is, 'putBlob')
      await assert.rejects(t.readRef('suite-aborted', o), is, 'readRef')
      await assert.rejects(t.writeRef('suite-aborted', refDocument('b'), MANIFEST_MT, o), is, 'writeRef')
      assert.deepEqual(Buffer.from((await t.readRef('suite-aborted')) ?? []), Buffer.from(refDocument('a')), 'aborted writeRef changed nothing')
    })

    it('readRef of a missing ref resolves undefined', async (t) => {
      assert.equal(await t.readRef('suite-missing'), undefined)
    })

    it('writeRef then readRef; a second writeRef overwrites; refs are independent', async (t) => {
      const a = refDocument('first', 1000)
      const b = refDocument('second', 10)
      await t.writeRef('suite-ref', a, MANIFEST_MT)
      assert.deepEqual(Buffer.from((await t.readRef('suite-ref')) ?? []), Buffer.from(a))
      await t.writeRef('suite-other', refDocument('other'), MANIFEST_MT)
      await t.writeRef('suite-ref', b, MANIFEST_MT)
      assert.deepEqual(Buffer.from((await t.readRef('suite-ref')) ?? []), Buffer.from(b))
      assert.deepEqual(Buffer.from((await t.readRef('suite-other')) ?? []), Buffer.from(refDocument('other')))
    })

    it('writeRef is atomic under concurrent readers (old or new, never torn)', async (t) => {
      const docs = [refDocument('version-a', 200_000), refDocument('version-b', 150_000)]
      const hashes = new Set(docs.map((d) => sha256(d)))
      await t.writeRef('suite-atomic', docs[0] as Uint8Array, MANIFEST_MT)
      let writing = true
      const writer = (async () => {
        for (let i = 0; i < 20; i++) await t.writeRef('suite-atomic', docs[i % 2] as Uint8Array, MANIFEST_MT)
        writing = false
      })()
      const reader = async (): Promise<number> => {
        let n = 0
        while (writing || n === 0) {
          const got = await t.readRef('suite-atomic')
          assert.ok(got, 'ref vanished during overwrite')
          assert.ok(hashes.has(sha256(got)), `torn read: ${got.length} bytes`)
          n++
        }
        return n
      }
      const counts = await Promise.all([reader(), reader(), reader(), writer.then(() => 0)])
      assert.ok((counts[0] ?? 0) > 0)
    })

    const large = opts.largeBlobSize ?? 64 * 1024 * 1024
    if (large !== false) {
      it(`a ${Math.round(large / 1048576)} MiB seeded blob streams through with bounded RSS growth`, async (t, ctx) => {
        const limit = opts.rssLimitBytes ?? 100_000_000
        const seed = 0xc0ffee
        const digest = await prngDigest(seed, large)
        ;(globalThis as { gc?: () => void }).gc?.()
        const up = await withRss(() => t.putBlob({ digest, size: large, mediaType: BLOB_MT }, () => prngStream(seed, large)))
        assert.equal((await t.statBlob(digest))?.size, large)
        const down = await withRss(async () => {
          const h = createHash('sha256')
          let n = 0
          for await (const chunk of await t.openBlob({ digest, size: large })) {
            h.update(chunk as Buffer)
            n += (chunk as Buffer).length
          }
          return { n, digest: `sha256:${h.digest('hex')}` }
        })
        const mbps = (ms: number) => (large / 1e6 / (ms / 1000)).toFixed(1)
        const mb = (bytes: number) => (bytes / 1048576).toFixed(1)
        ctx.diagnostic(`${name} ${Math.round(large / 1e6)} MB: upload ${mbps(up.ms)} MB/s, peak RSS +${mb(up.growth)} MiB; download ${mbps(down.ms)} MB/s, peak RSS +${mb(down.growth)} MiB`)
        assert.deepEqual(down.value, { n: large, digest })
        assert.ok(up.growth < limit, `upload: RSS grew by ${Math.round(up.growth / 1e6)} MB (limit ${Math.round(limit / 1e6)} MB)`)
        assert.ok(down.growth < limit, `download: RSS grew by ${Math.round(down.growth / 1e6)} MB (limit ${Math.round(limit / 1e6)} MB)`)
      })
    }

    const mp = opts.multipartBytes
    if (mp !== undefined && verifies) {
      it(`a multipart-sized body (${mp} bytes) with a wrong digest or size leaves nothing visible`, async (t) => {
        const d = await prngDigest(11, mp)
        await assert.rejects(t.putBlob({ digest: d, size: mp, mediaType: BLOB_MT }, () => prngStream(12, mp)), FailedPreconditionError)
        await assert.rejects(t.putBlob({ digest: d, size: mp, mediaType: BLOB_MT }, () => prngStream(11, mp - 1)), FailedPreconditionError)
        await assert.rejects(t.putBlob({ digest: d, size: mp - 1, mediaType: BLOB_MT }, () => prngStream(11, mp)), FailedPreconditionError)
        assert.equal(await t.statBlob(d), undefined)
      })
      it('a multipart-sized upload aborted mid-way rejects with the reason and leaves nothing visible', async (t) => {
        const size = Math.ceil(mp * 1.7)
        const d = await prngDigest(13, size)
        const ac = new AbortController()
        const reason = new Error('stop now')
        const src = () =>
          Readable.from(
            (async function* () {
              let sent = 0
              for await (const b of prngStream(13, size)) {
                sent += (b as Buffer).length
                if (sent >= mp && !ac.signal.aborted) ac.abort(reason)
                yield b as Buffer
              }
            })(),
          )
        await assert.rejects(t.putBlob({ digest: d, size, mediaType: BLOB_MT }, src, { signal: ac.signal }), (e) => e === reason)
        assert.equal(await t.statBlob(d), undefined)
      })
    }
  })
}

// The gha cache transport against a loopback emulator of the GitHub Actions cache service (v1 REST
// and v2 Twirp) whose bytes live in Azurite behind SAS URLs.
import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { Readable } from 'node:stream'
import { after, before, describe, test } from 'node:test'
import { createGhaTransport, GHA_CACHE_VERSION, type GhaTransport, type GhaTransportConfig } from '../../src/cache/backends/gha/index.ts'
import { type Digest, sha256 } from '../../src/core/digest.ts'
import { CairnError, FailedPreconditionError, NotFoundError } from '../../src/core/errors.ts'
import { cacheTransportSuite } from '../../src/testing/cache-transport-suite.ts'
import { type GhaEmulator, startGhaEmulator, type TokenScope } from '../fixtures/gha-emulator/index.ts'
import { type AzuriteHandle, startAzurite } from '../services/azurite.ts'

const MAIN = 'refs/heads/main'
const FEATURE = 'refs/heads/feature'

let azurite: AzuriteHandle
let emu: GhaEmulator
const sleeps: number[] = []
const fakeSleep = async (ms: number, signal?: AbortSignal): Promise<void> => {
  signal?.throwIfAborted()
  sleeps.push(ms)
}

before(async () => {
  azurite = await startAzurite()
  emu = await startGhaEmulator({ azurite })
})
after(async () => {
  await emu?.close()
  await azurite?.stop()
})

interface MakeOpts extends GhaTransportConfig {
  scopes?: TokenScope[]
  rawToken?: string
  emulator?: GhaEmulator
}

function make(version: 1 | 2, o: MakeOpts = {}): GhaTransport {
  const { scopes, rawToken, emulator = emu, ...cfg } = o
  const token = rawToken ?? emulator.token(scopes ? { scopes } : {})
  return createGhaTransport({ chunkSize: 64 * 1024, uploadConcurrency: 3, ...cfg }, { env: emulator.env(version, token), sleep: fakeSleep })
}

function blob(bytes: Buffer): { digest: Digest; size: number; mediaType: string; bytes: Buffer } {
  return { digest: sha256(bytes), size: bytes.length, mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip', bytes }
}
const body = (b: Buffer) => () => Readable.from([b])
async function readAll(r: Readable): Promise<Buffer> {
  const parts: Buffer[] = []
  for await (const c of r) parts.push(c as Buffer)
  return Buffer.concat(parts)
}

for (const version of [2, 1] as const) {
  // The shared contract, each test against a fresh emulator (own Azurite container) and default
  // chunking (8 MiB chunks, 4 in flight).
  cacheTransportSuite(`gha v${version}`, async () => {
    const own = await startGhaEmulator({ azurite })
    const token = own.token()
    const transport = createGhaTransport({}, { env: own.env(version, token), sleep: fakeSleep })
    return { transport, cleanup: () => own.close() }
  })

  describe(`gha transport, protocol v${version}: backend behaviour`, () => {
    test('kind, refForm, location carry no token', () => {
      const t = make(version)
      assert.equal(t.kind, 'gha')
      assert.equal(t.refForm, 'config')
      assert.equal(t.protocol, version)
      assert.match(t.location, /^gha \(cache service v\d at http:\/\/127\.0\.0\.1:\d+, scope buildkit\)$/)
    })

    test('missing blob: statBlob undefined, openBlob NotFoundError, readRef undefined', async () => {
      const t = make(version)
      const b = blob(randomBytes(10))
      assert.equal(await t.statBlob(b.digest), undefined)
      await assert.rejects(t.openBlob(b), NotFoundError)
      assert.equal(await t.readRef(`missing-${version}`), undefined)
    })

    test("multi-chunk blob round-trips; stat reports its size; keys and version are BuildKit's", async () => {
      const t = make(version)
      const b = blob(randomBytes(300 * 1024 + 7))
      await t.putBlob(b, body(b.bytes))
      const info = await t.statBlob(b.digest)
      assert.equal(info?.digest, b.digest)
      assert.equal(info?.size, b.size)
      assert.ok(info?.lastModified instanceof Date)
      assert.deepEqual(await readAll(await t.openBlob(b)), b.bytes)
      const e = emu.entries().find((x) => x.key === `buildkit-blob-1-${b.digest}`)
      assert.ok(e?.committed)
      assert.equal(e.version, GHA_CACHE_VERSION)
      assert.equal(e.version, '693bb7016429d80366022f036f84856888c9f13e00145f5f6f4dce303a38d6f2')
      assert.equal(e.scope, MAIN)
    })

    test('empty blob round-trips', async () => {
      const t = make(version)
      const b = blob(Buffer.alloc(0))
      // The empty digest is shared by both protocol runs: put is idempotent either way.
      await t.putBlob(b, body(b.bytes))
      assert.equal((await t.statBlob(b.digest))?.size, 0)
      assert.equal((await readAll(await t.openBlob(b))).length, 0)
    })

    test('a second put of an existing blob uploads nothing and does not open the body', async () => {
      const t = make(version)
      const b = blob(randomBytes(5000))
      await t.putBlob(b, body(b.bytes))
      const key = `buildkit-blob-1-${b.digest}`
      assert.equal(emu.uploads(key), 1)
      let opened = 0
      await t.putBlob(b, () => {
        opened++
        return Readable.from([b.bytes])
      })
      assert.equal(opened, 0)
      assert.equal(emu.uploads(key), 1)
      assert.equal(emu.entries().filter((x) => x.key === key).length, 1)
    })

    test('wrong digest or size: rejected, nothing visible under the digest', async () => {
      const t = make(version)
      const b = blob(randomBytes(2000))
      await assert.rejects(t.putBlob(b, body(randomBytes(2000))), FailedPreconditionError)
      assert.equal(await t.statBlob(b.digest), undefined)
      const c = blob(randomBytes(2000))
      await assert.rejects(t.putBlob({ ...c, size: c.size + 1 }, body(c.bytes)), FailedPreconditionError)
      assert.equal(await t.statBlob(c.digest), undefined)
      // The failed attempt left a reservation the service will not release soon (as on GitHub):
      // a retry cannot upload, but still verifies its content and is not committed.
      await assert.rejects(t.putBlob({ ...c, size: c.size - 1 }, body(c.bytes)), FailedPreconditionError)
      assert.equal(emu.uploads(`buildkit-blob-1-${c.digest}`), 1)
    })

    test('a failing body stream rejects and leaves nothing visible', async () => {
      const t = make(version)
      const b = blob(randomBytes(200 * 1024))
      const failing = () =>
        Readable.from(
          (async function* () {
            yield b.bytes.subarray(0, 100 * 1024)
            throw new Error('disk read failed')
          })(),
        )
      await assert.rejects(t.putBlob(b, failing), /disk read failed/)
      assert.equal(await t.statBlob(b.digest), undefined)
    })

    test('writeRef/readRef: each write is a new index entry #n, readers get the newest', async () => {
      const t = make(version, { scope: `refs-v${version}` })
      const doc1 = Buffer.from(JSON.stringify({ layers: [], records: [], n: 1 }))
      const doc2 = Buffer.from(JSON.stringify({ layers: [], records: [], n: 2 }))
      await t.writeRef(`refs-v${version}`, doc1, 'application/vnd.buildkit.cacheconfig.v0')
      assert.deepEqual(Buffer.from((await t.readRef(`refs-v${version}`)) ?? []), doc1)
      await t.writeRef(`refs-v${version}`, doc2, 'application/vnd.buildkit.cacheconfig.v0')
      assert.deepEqual(Buffer.from((await t.readRef(`refs-v${version}`)) ?? []), doc2)
      const keys = emu
        .entries()
        .filter((x) => x.key.startsWith(`index-refs-v${version}-1-`))
        .map((x) => x.key)
        .sort()
      // scope refs/heads/main hashes to f921bd05 (buildkit-cache-format.md §3.4 "Key naming").
      assert.deepEqual(keys, [`index-refs-v${version}-1-f921bd05#1`, `index-refs-v${version}-1-f921bd05#2`])
    })

    test('writeRef with a large document (several chunks) round-trips', async () => {
      const t = make(version)
      const doc = Buffer.from(JSON.stringify({ pad: randomBytes(150 * 1024).toString('hex') }))
      await t.writeRef(`big-v${version}`, doc, 'application/vnd.buildkit.cacheconfig.v0')
      assert.deepEqual(Buffer.from((await t.readRef(`big-v${version}`)) ?? []), doc)
    })

    test('every method honours an aborted signal', async () => {
      const t = make(version)
      const ac = new AbortController()
      const reason = new Error('stop now')
      ac.abort(reason)
      const b = blob(randomBytes(10))
      const o = { signal: ac.signal }
      for (const p of [t.statBlob(b.digest, o), t.openBlob(b, o), t.putBlob(b, body(b.bytes), o), t.readRef('x', o), t.writeRef('x', b.bytes, 'x', o)]) {
        await assert.rejects(p, (e) => e === reason)
      }
    })

    test('abort during an upload rejects with the reason and commits nothing', async () => {
      const t = make(version)
      const b = blob(randomBytes(400 * 1024))
      const ac = new AbortController()
      const reason = new Error('cancelled by user')
      const slow = () =>
        Readable.from(
          (async function* () {
            yield b.bytes.subarray(0, 128 * 1024)
            ac.abort(reason)
            await new Promise((r) => setTimeout(r, 20))
            yield b.bytes.subarray(128 * 1024)
          })(),
        )
      await assert.rejects(t.putBlob(b, slow, { signal: ac.signal }), (e) => e === reason)
      assert.equal(await t.statBlob(b.digest), undefined)
    })

    test('scopes are kept apart: scope attribute and GitHub branch scope', async () => {
      const doc = Buffer.from('{"records":[]}')
      const A = `image-a-v${version}`
      const B = `image-b-v${version}`
      const a = make(version, { scope: A })
      await a.writeRef(A, doc, 'application/vnd.buildkit.cacheconfig.v0')
      assert.equal(await a.readRef(B), undefined)
      assert.deepEqual(Buffer.from((await a.readRef(A)) ?? []), doc)

      // A blob written from branch `feature` is invisible to a job on `main`…
      const feature = make(version, { scopes: [{ scope: FEATURE, permission: 3 }] })
      const onMain = make(version, { scopes: [{ scope: MAIN, permission: 3 }] })
      const b = blob(randomBytes(1000))
      await feature.putBlob(b, body(b.bytes))
      assert.equal((await feature.statBlob(b.digest))?.size, b.size)
      assert.equal(await onMain.statBlob(b.digest), undefined)
      await assert.rejects(onMain.openBlob(b), NotFoundError)
      // …and main's index is readable by a pull request with read access to main (index key of main's scope).
      const pr = make(version, {
        scopes: [
          { scope: MAIN, permission: 1 },
          { scope: 'refs/pull/7/merge', permission: 3 },
        ],
      })
      assert.deepEqual(Buffer.from((await pr.readRef(A)) ?? []), doc)
      const all = await pr.readRefs(A)
      assert.deepEqual(
        all.map((e) => e.githubScope),
        [MAIN],
      )
      // The PR writes its own index (its scope hash), which main never sees.
      await pr.writeRef(A, Buffer.from('{"pr":1}'), 'application/vnd.buildkit.cacheconfig.v0')
      assert.deepEqual(Buffer.from((await pr.readRef(A)) ?? []).toString(), '{"pr":1}')
      assert.deepEqual(Buffer.from((await onMain.readRef(A)) ?? []), doc)
      assert.equal((await pr.readRefs(A)).length, 2)
    })

    test('eviction: statBlob undefined, openBlob NotFoundError, touchBlob NotFoundError', async () => {
      const t = make(version)
      const b = blob(randomBytes(3000))
      await t.putBlob(b, body(b.bytes))
      await t.touchBlob?.(b.digest)
      assert.equal(await emu.evict(`buildkit-blob-1-${b.digest}`), 1)
      assert.equal(await t.statBlob(b.digest), undefined)
      await assert.rejects(t.openBlob(b), NotFoundError)
      await assert.rejects(t.touchBlob?.(b.digest) ?? Promise.reject(new Error('no touchBlob')), NotFoundError)
    })

    test('429s are retried honouring Retry-After, then succeed', async () => {
      const t = make(version)
      const b = blob(randomBytes(100))
      sleeps.length = 0
      emu.throttle(3, 2)
      await t.putBlob(b, body(b.bytes))
      assert.deepEqual(sleeps, [2000, 2000, 2000])
      assert.equal((await t.statBlob(b.digest))?.size, b.size)
    })

    test('persistent 429: a clear throttling error with the remedy', async () => {
      const t = make(version)
      emu.throttle(100, 1)
      try {
        await assert.rejects(t.statBlob(sha256('x')), (e: unknown) => {
          assert.ok(e instanceof CairnError)
          assert.equal(e.code, 'ERR_GHA_THROTTLED')
          assert.match(e.message, /^GitHub Actions cache is throttling requests \(429\)/)
          assert.match(e.hint ?? '', /scope=/)
          assert.match(e.hint ?? '', /mode=min/)
          return true
        })
      } finally {
        emu.clearFaults()
      }
    })

    test('5xx responses are retried with backoff', async () => {
      const t = make(version)
      const b = blob(randomBytes(100))
      sleeps.length = 0
      emu.failNext(2, 503)
      emu.failNext(1, 500)
      await t.putBlob(b, body(b.bytes))
      assert.deepEqual(sleeps, [1000, 2000, 4000])
      assert.equal((await t.statBlob(b.digest))?.size, b.size)
    })

    test('wrong token: a clear 401 message that does not contain the token', async () => {
      const bad = emu.token({ wrongSecret: true })
      const t = make(version, { rawToken: bad })
      await assert.rejects(t.statBlob(sha256('y')), (e: unknown) => {
        assert.ok(e instanceof CairnError)
        assert.equal(e.code, 'ERR_GHA_AUTH')
        assert.match(e.message, /rejected the runtime token \(401 Unauthorized\)/)
        const all = `${e.message}\n${e.hint}\n${JSON.stringify(e.details ?? {})}`
        assert.ok(!all.includes(bad))
        assert.ok(!all.includes(bad.split('.')[2] ?? '-'))
        return true
      })
    })

    test('read-only token (fork pull request): writeRef refuses with a clear message', async () => {
      const t = make(version, { scopes: [{ scope: MAIN, permission: 1 }] })
      await assert.rejects(t.writeRef('buildkit', Buffer.from('{}'), 'x'), /no writable scope/)
    })

    test('index race: a stuck reservation of #n+1 is waited on for 15 s, then skipped', async () => {
      const scope = `race-v${version}`
      const t = make(version, { scope })
      await t.writeRef(scope, Buffer.from('{"n":1}'), 'x')
      // Another writer reserved #2 and never committed it.
      const stuck = `index-${scope}-1-f921bd05#2`
      await reserveOnly(version, stuck)
      sleeps.length = 0
      await t.writeRef(scope, Buffer.from('{"n":3}'), 'x')
      assert.deepEqual(sleeps, Array(8).fill(2000))
      assert.equal(Buffer.from((await t.readRef(scope)) ?? []).toString(), '{"n":3}')
      assert.ok(emu.entries().some((e) => e.key === `index-${scope}-1-f921bd05#3` && e.committed))
    })
  })
}

/** Reserves a key through the raw protocol without uploading (a writer that died). */
async function reserveOnly(version: 1 | 2, key: string): Promise<void> {
  const token = emu.token()
  const res =
    version === 2
      ? await fetch(`${emu.urlV2}twirp/github.actions.results.api.v1.CacheService/CreateCacheEntry`, {
          method: 'POST',
          headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
          body: JSON.stringify({ key, version: GHA_CACHE_VERSION }),
        })
      : await fetch(`${emu.urlV1}_apis/artifactcache/caches`, {
          method: 'POST',
          headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
          body: JSON.stringify({ key, version: GHA_CACHE_VERSION }),
        })
  assert.equal(res.status, 200, await res.text())
}

describe('gha transport: quota refusal', () => {
  for (const version of [2, 1] as const) {
    test(`v${version}: the service refusing for quota gives the remedy`, async () => {
      const small = await startGhaEmulator({ azurite, quotaBytes: 1000 })
      try {
        const t = make(version, { emulator: small })
        const b = blob(randomBytes(5000))
        await assert.rejects(t.putBlob(b, body(b.bytes)), (e: unknown) => {
          assert.ok(e instanceof CairnError)
          assert.equal(e.code, 'ERR_GHA_QUOTA')
          assert.match(e.message, /storage quota or entry size limit/)
          assert.match(e.hint ?? '', /mode=min/)
          return true
        })
        assert.equal(await t.statBlob(b.digest), undefined)
      } finally {
        await small.close()
      }
    })
  }
})

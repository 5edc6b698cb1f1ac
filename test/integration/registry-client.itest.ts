// The OCI distribution client against Debian's docker-registry (no auth, htpasswd, token auth)
// and against scripted HTTP peers for retry, resume, abort and TLS behaviour.
import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import { Readable } from 'node:stream'
import { after, before, describe, it } from 'node:test'
import { type Digest, sha256 } from '../../src/core/digest.ts'
import { FailedPreconditionError, InvalidArgumentError, NotFoundError, UnavailableError } from '../../src/core/errors.ts'
import { MediaType } from '../../src/oci/media-types.ts'
import { createRegistryClient, RegistryAuthError, type RegistryClientOptions, type RegistryRepository, staticCredentials } from '../../src/registry/index.ts'
import { haveDockerRegistry, type RunningRegistry, startRegistry } from '../services/registry.ts'

const SKIP = haveDockerRegistry() ? false : 'docker-registry is not installed (Debian: apt-get install -y docker-registry)'

const blob = (data: Buffer) => ({ digest: sha256(data), size: data.length })
const body =
  (data: Buffer, piece = 64 * 1024) =>
  () =>
    Readable.from(
      (function* () {
        for (let i = 0; i < data.length; i += piece) yield data.subarray(i, i + piece)
      })(),
    )

async function readAll(s: AsyncIterable<Uint8Array>): Promise<Buffer> {
  const parts: Buffer[] = []
  for await (const c of s) parts.push(Buffer.from(c))
  return Buffer.concat(parts)
}

/** Pushes config + one layer and returns an image manifest (OCI or Docker schema2) for them. */
async function pushImage(repo: RegistryRepository, kind: 'oci' | 'docker'): Promise<Buffer> {
  const layer = randomBytes(4096)
  const config = Buffer.from(JSON.stringify({ architecture: 'amd64', os: 'linux', rootfs: { type: 'layers', diff_ids: [sha256(layer)] } }))
  await repo.putBlob(blob(layer), body(layer))
  await repo.putBlob(blob(config), body(config))
  const oci = kind === 'oci'
  return Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: oci ? MediaType.ociManifest : MediaType.dockerManifest,
      config: { mediaType: oci ? MediaType.ociConfig : MediaType.dockerConfig, ...blob(config) },
      layers: [{ mediaType: oci ? MediaType.ociLayerGzip : MediaType.dockerLayerGzip, ...blob(layer) }],
    }),
  )
}

const indexOf = (mediaType: string, childType: string, children: Buffer[]) =>
  Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType,
      manifests: children.map((c, i) => ({ mediaType: childType, ...blob(c), platform: { architecture: i === 0 ? 'amd64' : 'arm64', os: 'linux' } })),
    }),
  )

const PASSWORD = 'S3cret-pass word!'

for (const variant of ['none', 'htpasswd', 'token'] as const) {
  describe(`registry client vs docker-registry (auth=${variant})`, { skip: SKIP }, () => {
    let reg: RunningRegistry
    let opts: RegistryClientOptions
    let repo: RegistryRepository
    before(async () => {
      reg = await startRegistry({ auth: variant, counting: true, users: { cairn: PASSWORD }, token: { refreshTokens: { 'idtok-0123456789': 'cairn' } } })
      opts = { credentials: staticCredentials({ [reg.host]: { kind: 'basic', username: 'cairn', password: PASSWORD } }) }
      repo = createRegistryClient(opts).repo(`${reg.host}/team/app`)
    })
    after(async () => {
      await reg?.stop()
    })

    it('pushes a blob monolithically (POST + one PUT) and pulls it back verified', async () => {
      const data = randomBytes(1024 * 1024 + 17)
      const before = reg.requests.length
      await repo.putBlob(blob(data), body(data))
      const reqs = reg.requests.slice(before).filter((r) => r.path.includes('/blobs/uploads/'))
      assert.deepEqual(
        reqs.map((r) => r.method),
        ['POST', 'PUT'],
      )
      assert.equal(reqs[1]?.bytes, data.length)
      assert.deepEqual(await repo.headBlob(blob(data).digest), { size: data.length })
      assert.ok((await readAll(await repo.getBlob(blob(data)))).equals(data))
      assert.ok((await readAll(await repo.getBlob(blob(data), { start: 1000 }))).equals(data.subarray(1000)))
    })

    it('pushes a blob in chunks (PATCH with Content-Range) and pulls it back', async () => {
      const data = randomBytes(300_000)
      const before = reg.requests.length
      await repo.putBlob(blob(data), body(data, 10_000), { upload: 'chunked', chunkSize: 128 * 1024 })
      const reqs = reg.requests.slice(before).filter((r) => r.path.includes('/blobs/uploads/'))
      assert.deepEqual(
        reqs.map((r) => `${r.method}:${r.bytes}`),
        ['POST:0', 'PATCH:131072', 'PATCH:131072', 'PATCH:37856', 'PUT:0'],
      )
      assert.ok((await readAll(await repo.getBlob(blob(data)))).equals(data))
    })

    it('HEAD tells present from missing; pushing a present blob uploads nothing', async () => {
      const data = randomBytes(5000)
      await repo.putBlob(blob(data), body(data))
      assert.equal(await repo.headBlob(sha256(randomBytes(8))), undefined)
      const bytes = reg.uploadBytes()
      await repo.putBlob(blob(data), body(data))
      assert.equal(reg.uploadBytes(), bytes)
    })

    it('mounts a blob across repositories without uploading it', async () => {
      const data = randomBytes(50_000)
      await repo.putBlob(blob(data), body(data))
      const bytes = reg.uploadBytes()
      const tokensBefore = reg.tokenServer?.requests.length ?? 0
      const other = createRegistryClient(opts).repo(`${reg.host}/other/app`)
      assert.equal(await other.mountBlob(blob(data), 'team/app'), 'mounted')
      assert.equal(reg.uploadBytes(), bytes)
      assert.deepEqual(await other.headBlob(blob(data).digest), { size: data.length })
      if (reg.tokenServer) {
        const scopes = reg.tokenServer.requests.slice(tokensBefore).map((r) => r.scopes.join(' '))
        assert.ok(scopes.includes('repository:other/app:pull,push repository:team/app:pull'), scopes.join(' | '))
      }
    })

    it('a mount the registry answers with 202 falls back to an upload', async () => {
      const data = randomBytes(20_000)
      const target = createRegistryClient(opts).repo(`${reg.host}/third/app`)
      assert.equal(await target.mountBlob(blob(data), 'nowhere/app', { body: body(data) }), 'uploaded')
      assert.ok((await readAll(await target.getBlob(blob(data)))).equals(data))
      await assert.rejects(target.mountBlob(blob(randomBytes(10)), 'nowhere/app'), NotFoundError)
    })

    it('PUTs and GETs an OCI manifest, OCI index, Docker schema2 manifest and manifest list', async () => {
      const cases: [string, string, Buffer][] = []
      const ociA = await pushImage(repo, 'oci')
      const ociB = await pushImage(repo, 'oci')
      const dockA = await pushImage(repo, 'docker')
      const dockB = await pushImage(repo, 'docker')
      cases.push(
        ['oci-a', MediaType.ociManifest, ociA],
        ['oci-b', MediaType.ociManifest, ociB],
        ['docker-a', MediaType.dockerManifest, dockA],
        ['docker-b', MediaType.dockerManifest, dockB],
      )
      cases.push(['oci-index', MediaType.ociIndex, indexOf(MediaType.ociIndex, MediaType.ociManifest, [ociA, ociB])])
      cases.push(['docker-list', MediaType.dockerManifestList, indexOf(MediaType.dockerManifestList, MediaType.dockerManifest, [dockA, dockB])])
      for (const [tag, mediaType, bytes] of cases) {
        const digest = await repo.putManifest(tag, bytes, mediaType)
        assert.equal(digest, sha256(bytes), tag)
        const byTag = await repo.getManifest(tag)
        assert.deepEqual([byTag.mediaType, byTag.digest, Buffer.from(byTag.bytes).equals(bytes)], [mediaType, digest, true], tag)
        const byDigest = await repo.getManifest(digest, [mediaType])
        assert.ok(Buffer.from(byDigest.bytes).equals(bytes), tag)
        assert.deepEqual(await repo.headManifest(tag), { digest, size: bytes.length, mediaType })
      }
    })

    it('missing manifests are NotFoundError / undefined; invalid ones carry the registry error code', async () => {
      await assert.rejects(repo.getManifest('no-such-tag'), (e: unknown) => {
        assert.ok(e instanceof NotFoundError)
        assert.match(e.message, new RegExp(`manifest no-such-tag not found in ${reg.host}/team/app`))
        return true
      })
      assert.equal(await repo.headManifest('no-such-tag'), undefined)
      const missingLayer = Buffer.from(
        JSON.stringify({
          schemaVersion: 2,
          mediaType: MediaType.ociManifest,
          config: { mediaType: MediaType.ociConfig, ...blob(randomBytes(10)) },
          layers: [],
        }),
      )
      await assert.rejects(repo.putManifest('broken', missingLayer, MediaType.ociManifest), (e: unknown) => {
        assert.ok(e instanceof InvalidArgumentError)
        assert.equal(e.code, 'ERR_REGISTRY_MANIFEST_INVALID')
        assert.match(e.message, /MANIFEST_BLOB_UNKNOWN/)
        assert.match(e.message, new RegExp(`${reg.host}/team/app: put manifest broken`))
        return true
      })
      await assert.rejects(repo.putManifest('junk', Buffer.from('{not json'), MediaType.ociManifest), /MANIFEST_INVALID/)
    })

    it('lists tags', async () => {
      const tagged = createRegistryClient(opts).repo(`${reg.host}/tags/app`)
      const bytes = await pushImage(tagged, 'oci')
      for (const t of ['v1', 'v2', 'v3', 'latest']) await tagged.putManifest(t, bytes, MediaType.ociManifest)
      // distribution 2.8 ignores `n` for tags/list (it pages only the catalog); paging is covered by a scripted peer.
      assert.deepEqual((await tagged.listTags({ pageSize: 2 })).sort(), ['latest', 'v1', 'v2', 'v3'])
      await assert.rejects(createRegistryClient(opts).repo(`${reg.host}/nothing/here`).listTags(), NotFoundError)
    })

    if (variant !== 'none') {
      it('a wrong password gives the clear 401 message, without the password', async () => {
        const wrong = 'Wrong-Passw0rd-xyz'
        const bad = createRegistryClient({ credentials: staticCredentials({ [reg.host]: { kind: 'basic', username: 'cairn', password: wrong } }) })
        await assert.rejects(bad.repo(`${reg.host}/team/app`).getManifest('latest'), (e: unknown) => {
          assert.ok(e instanceof RegistryAuthError)
          assert.match(e.message, new RegExp(`${reg.host}/team/app: get manifest latest: authentication denied for ${reg.host}`))
          assert.match(e.hint ?? '', new RegExp(`docker login ${reg.host}.*DOCKER_CONFIG/config\\.json`))
          const all = `${e.message} ${e.hint} ${JSON.stringify(e.details)} ${e.stack}`
          assert.ok(!all.includes(wrong) && !all.includes(Buffer.from(`cairn:${wrong}`).toString('base64')), all)
          return true
        })
      })

      it('no credentials → "authentication required" with the docker login hint', async () => {
        await assert.rejects(createRegistryClient().repo(`${reg.host}/team/app`).headBlob(sha256('x')), (e: unknown) => {
          assert.ok(e instanceof RegistryAuthError)
          assert.match(e.message, new RegExp(`authentication required for ${reg.host}`))
          assert.match(e.hint ?? '', new RegExp(`run \`docker login ${reg.host}\``))
          return true
        })
      })
    }

    if (variant === 'token') {
      it('reuses tokens per (host, scope)', async () => {
        const ts = reg.tokenServer as NonNullable<RunningRegistry['tokenServer']>
        const fresh = createRegistryClient(opts).repo(`${reg.host}/reuse/app`)
        const n0 = ts.requests.length
        for (let round = 0; round < 2; round++) {
          const bytes = await pushImage(fresh, 'oci')
          await fresh.putManifest(`r${round}`, bytes, MediaType.ociManifest)
          await fresh.getManifest(`r${round}`)
          await fresh.headManifest(`r${round}`)
          await fresh.listTags()
        }
        const got = ts.requests.slice(n0)
        assert.deepEqual(
          got.map((r) => r.scopes.join(' ')),
          ['repository:reuse/app:pull', 'repository:reuse/app:pull,push'],
        )
        assert.ok(got.every((r) => r.account === 'cairn' && r.status === 200))
      })

      it('uses an identity token through the OAuth2 refresh_token grant', async () => {
        const ts = reg.tokenServer as NonNullable<RunningRegistry['tokenServer']>
        const n0 = ts.requests.length
        const c = createRegistryClient({ credentials: staticCredentials({ [reg.host]: { kind: 'identityToken', token: 'idtok-0123456789' } }) })
        const data = randomBytes(1000)
        await c.repo(`${reg.host}/idtoken/app`).putBlob(blob(data), body(data))
        assert.ok(ts.requests.slice(n0).every((r) => r.method === 'POST' && r.grantType === 'refresh_token' && r.account === 'cairn'))
      })
    }
  })
}

interface Seen {
  method: string
  url: string
  headers: IncomingMessage['headers']
  body: Buffer
}

/** A scripted registry peer: `handler` gets each request (with its body read) and its 0-based index. */
async function scripted(handler: (req: Seen, res: ServerResponse, n: number) => void) {
  const seen: Seen[] = []
  const server = createServer(async (req, res) => {
    const parts: Buffer[] = []
    for await (const c of req) parts.push(c as Buffer)
    const s = { method: req.method ?? '', url: req.url ?? '', headers: req.headers, body: Buffer.concat(parts) }
    seen.push(s)
    handler(s, res, seen.length - 1)
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const host = `127.0.0.1:${(server.address() as AddressInfo).port}`
  return {
    host,
    seen,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections()
        server.close(() => resolve())
      }),
  }
}

describe('registry client vs scripted peers', () => {
  const sleeps: number[] = []
  const quick = (o: Partial<RegistryClientOptions> = {}) =>
    createRegistryClient({ retry: { attempts: 4, baseMs: 100, maxMs: 400 }, random: () => 0.999, sleep: async (ms) => void sleeps.push(ms), ...o })

  it('retries 429 honouring Retry-After, and 503 with capped backoff', async () => {
    const manifest = Buffer.from('{"schemaVersion":2}')
    const peer = await scripted((_r, res, n) => {
      if (n === 0) return res.writeHead(429, { 'retry-after': '2' }).end()
      if (n <= 3) return res.writeHead(503).end('{"errors":[{"code":"UNAVAILABLE","message":"busy"}]}')
      res.writeHead(200, { 'content-type': MediaType.ociManifest }).end(manifest)
    })
    try {
      sleeps.length = 0
      const m = await quick({ retry: { attempts: 5, baseMs: 100, maxMs: 400 } })
        .repo(`${peer.host}/a/b`)
        .getManifest('latest')
      assert.ok(Buffer.from(m.bytes).equals(manifest))
      assert.deepEqual(sleeps, [2000, 200, 400, 400])
    } finally {
      await peer.close()
    }
  })

  it('gives up after the attempts with UnavailableError naming registry, repository and operation', async () => {
    const peer = await scripted((_r, res) => res.writeHead(502).end())
    try {
      await assert.rejects(quick().repo(`${peer.host}/a/b`).headBlob(sha256('x')), (e: unknown) => {
        assert.ok(e instanceof UnavailableError)
        assert.match(e.message, new RegExp(`${peer.host}/a/b: head blob sha256:[0-9a-f]+: ${peer.host} is unavailable \\(HTTP 502\\)`))
        return true
      })
      assert.equal(peer.seen.length, 4)
    } finally {
      await peer.close()
    }
  })

  it('re-opens the body factory when a monolithic upload is retried', async () => {
    const data = randomBytes(10_000)
    let puts = 0
    const peer = await scripted((req, res) => {
      if (req.method === 'HEAD') return res.writeHead(404).end()
      if (req.method === 'POST') return res.writeHead(202, { location: `/v2/a/b/blobs/uploads/u${puts}` }).end()
      if (req.method === 'PUT' && puts++ === 0) return res.writeHead(503).end()
      assert.equal(new URL(req.url, 'http://x').searchParams.get('digest'), sha256(data))
      assert.ok(req.body.equals(data))
      res.writeHead(201, { 'docker-content-digest': sha256(data) }).end()
    })
    try {
      let opened = 0
      await quick()
        .repo(`${peer.host}/a/b`)
        .putBlob(blob(data), () => {
          opened++
          return body(data)()
        })
      assert.equal(opened, 2)
      assert.deepEqual(
        peer.seen.map((s) => s.method),
        ['HEAD', 'POST', 'PUT', 'POST', 'PUT'],
      )
    } finally {
      await peer.close()
    }
  })

  it('retries a connection reset before any response', async () => {
    const manifest = Buffer.from('{}')
    const peer = await scripted((_r, res, n) => {
      if (n === 0) return res.socket?.destroy()
      res.writeHead(200, { 'content-type': MediaType.ociManifest }).end(manifest)
    })
    try {
      assert.equal((await quick().repo(`${peer.host}/a/b`).getManifest('x')).digest, sha256(manifest))
      assert.equal(peer.seen.length, 2)
    } finally {
      await peer.close()
    }
  })

  for (const honoursRange of [true, false]) {
    it(`resumes a download dropped mid-body with Range (server ${honoursRange ? 'honours' : 'ignores'} Range)`, async () => {
      const data = randomBytes(256 * 1024)
      const cut = 100_000
      const peer = await scripted((req, res, n) => {
        if (n === 0) {
          res.writeHead(200, { 'content-length': data.length })
          res.write(data.subarray(0, cut), () => setTimeout(() => res.socket?.destroy(), 20))
          return
        }
        const m = /^bytes=(\d+)-$/.exec(String(req.headers.range))
        const from = Number(m?.[1])
        if (!honoursRange || !m) return res.writeHead(200, { 'content-length': data.length }).end(data)
        res
          .writeHead(206, { 'content-range': `bytes ${from}-${data.length - 1}/${data.length}`, 'content-length': data.length - from })
          .end(data.subarray(from))
      })
      try {
        const got = await readAll(await quick().repo(`${peer.host}/a/b`).getBlob(blob(data)))
        assert.ok(got.equals(data))
        assert.equal(peer.seen.length, 2)
        assert.match(String(peer.seen[1]?.headers.range), /^bytes=\d+-$/)
        assert.ok(Number(/\d+/.exec(String(peer.seen[1]?.headers.range))?.[0]) > 0)
      } finally {
        await peer.close()
      }
    })
  }

  it('fails a download whose content does not match the digest', async () => {
    const data = randomBytes(1000)
    const peer = await scripted((_r, res) => res.writeHead(200).end(randomBytes(1000)))
    try {
      const s = await quick().repo(`${peer.host}/a/b`).getBlob(blob(data))
      await assert.rejects(readAll(s), (e: unknown) => e instanceof FailedPreconditionError && /digest mismatch/.test(e.message))
    } finally {
      await peer.close()
    }
  })

  it('aborts a hanging request, a backoff sleep and a download with the signal reason', async () => {
    const peer = await scripted((req, res) => {
      if (req.url.includes('/manifests/hang')) return // never answers
      if (req.url.includes('/manifests/busy')) return res.writeHead(503, { 'retry-after': '30' }).end()
      res.writeHead(200, { 'content-length': 1_000_000 })
      res.write(randomBytes(1000)) // then stalls
    })
    try {
      const c = createRegistryClient() // real sleep
      const repo = c.repo(`${peer.host}/a/b`)
      for (const tag of ['hang', 'busy']) {
        const reason = new Error(`stop ${tag}`)
        const ac = new AbortController()
        setTimeout(() => ac.abort(reason), 100)
        const t0 = Date.now()
        await assert.rejects(repo.getManifest(tag, undefined, { signal: ac.signal }), (e) => e === reason)
        assert.ok(Date.now() - t0 < 5000)
      }
      const reason = new Error('stop download')
      const ac = new AbortController()
      const s = await repo.getBlob({ digest: sha256('x') as Digest }, { signal: ac.signal })
      setTimeout(() => ac.abort(reason), 100)
      await assert.rejects(readAll(s), (e) => e === reason)
    } finally {
      await peer.close()
    }
  })

  it('TLS to a plain-HTTP registry suggests marking it insecure', async () => {
    const peer = await scripted((_r, res) => res.writeHead(200).end())
    try {
      // reg.test is not loopback, so the client uses https; the fetch maps it onto the plain-HTTP peer.
      const mapped: typeof fetch = (input, init) => fetch(String(input).replace('reg.test', peer.host), init)
      await assert.rejects(quick({ fetch: mapped }).repo('reg.test/a/b').headBlob(sha256('x')), (e: unknown) => {
        assert.equal((e as { code?: string }).code, 'ERR_REGISTRY_TLS')
        assert.match((e as Error).message, /reg\.test\/a\/b: head blob .*TLS handshake with reg\.test failed/)
        assert.match((e as { hint?: string }).hint ?? '', /insecure/)
        return true
      })
      let plain = ''
      const recording: typeof fetch = (input, init) => {
        plain = String(input)
        return fetch(String(input).replace('reg.test', peer.host), init)
      }
      await quick({ fetch: recording, insecure: (h) => h === 'reg.test' })
        .repo('reg.test/a/b')
        .headBlob(sha256('x'))
      assert.match(plain, /^http:\/\/reg\.test\//)
    } finally {
      await peer.close()
    }
  })

  for (const field of ['token', 'access_token'] as const) {
    it(`Bearer: reads the ${field} field, refreshes on 401 and never leaks the token in errors`, async () => {
      let issued = 0
      let tok1Uses = 0
      const peer = await scripted((req, res) => {
        const url = new URL(req.url, 'http://x')
        if (url.pathname === '/token') {
          issued++
          return res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ [field]: `tok-${issued}`, expires_in: 300 }))
        }
        const challenge = { 'www-authenticate': `Bearer realm="http://${req.headers.host}/token",service="svc",scope="repository:a/b:pull"` }
        const auth = req.headers.authorization ?? ''
        // tok-1 is accepted once, then "revoked"; later tokens work.
        if (auth === 'Bearer tok-1' && tok1Uses++ === 0) return res.writeHead(200, { 'content-length': 5 }).end()
        if (!/^Bearer tok-[2-9]$/.test(auth)) return res.writeHead(401, challenge).end()
        if (url.pathname.includes('/manifests/')) {
          // An error body that echoes the token must not put it into the message.
          return res
            .writeHead(400, { 'content-type': 'application/json' })
            .end(JSON.stringify({ errors: [{ code: 'MANIFEST_INVALID', message: `bad header ${auth}`, detail: { token: auth.slice(7) } }] }))
        }
        res.writeHead(200, { 'content-length': 7 }).end()
      })
      try {
        const repo = quick().repo(`${peer.host}/a/b`)
        assert.deepEqual(await repo.headBlob(sha256('1')), { size: 5 })
        assert.deepEqual(await repo.headBlob(sha256('2')), { size: 7 })
        assert.equal(issued, 2)
        assert.equal(new URL(peer.seen.find((s) => s.url.startsWith('/token'))?.url ?? '', 'http://x').searchParams.get('service'), 'svc')
        await assert.rejects(repo.putManifest('t', Buffer.from('{}'), MediaType.ociManifest), (e: unknown) => {
          const all = `${(e as Error).message} ${JSON.stringify((e as { details?: unknown }).details)}`
          assert.match(all, /MANIFEST_INVALID/)
          assert.ok(!/tok-\d/.test(all), all)
          return true
        })
      } finally {
        await peer.close()
      }
    })
  }

  it('a chunked upload retries a failed PATCH and resyncs on 416 from the upload offset', async () => {
    const data = randomBytes(30_000)
    let stored = Buffer.alloc(0)
    let patches = 0
    const peer = await scripted((req, res) => {
      const loc = { location: '/v2/a/b/blobs/uploads/u1?_state=s' }
      if (req.method === 'HEAD') return res.writeHead(404).end()
      if (req.method === 'POST') return res.writeHead(202, loc).end()
      if (req.method === 'GET') return res.writeHead(204, { range: `0-${stored.length - 1}` }).end()
      if (req.method === 'PATCH') {
        const start = Number(String(req.headers['content-range']).split('-')[0])
        if (start !== stored.length) return res.writeHead(416).end()
        stored = Buffer.concat([stored, req.body])
        // The second PATCH is stored but its answer is lost (503): the retry must not duplicate it.
        if (++patches === 2) return res.writeHead(503).end()
        return res.writeHead(202, { ...loc, range: `0-${stored.length - 1}` }).end()
      }
      if (req.method === 'PUT') {
        const ok = sha256(stored) === new URL(req.url, 'http://x').searchParams.get('digest')
        return res.writeHead(ok ? 201 : 400, ok ? { 'docker-content-digest': sha256(stored) } : {}).end()
      }
      res.writeHead(405).end()
    })
    try {
      await quick().repo(`${peer.host}/a/b`).putBlob(blob(data), body(data, 7000), { upload: 'chunked', chunkSize: 10_000 })
      assert.ok(stored.equals(data))
      assert.deepEqual(
        peer.seen.map((x) => x.method),
        ['HEAD', 'POST', 'PATCH', 'PATCH', 'PATCH', 'GET', 'PATCH', 'PUT'],
      )
    } finally {
      await peer.close()
    }
  })

  it('a chunked upload of content that does not match the descriptor is cancelled before the final PUT', async () => {
    const peer = await scripted((req, res) => {
      if (req.method === 'HEAD') return res.writeHead(404).end()
      if (req.method === 'POST' || req.method === 'PATCH') return res.writeHead(202, { location: '/v2/a/b/blobs/uploads/u1' }).end()
      res.writeHead(204).end()
    })
    try {
      const data = randomBytes(100)
      await assert.rejects(
        quick()
          .repo(`${peer.host}/a/b`)
          .putBlob({ digest: sha256('other'), size: 100 }, body(data), { upload: 'chunked' }),
        FailedPreconditionError,
      )
      assert.deepEqual(
        peer.seen.map((x) => x.method),
        ['HEAD', 'POST', 'PATCH', 'DELETE'],
      )
    } finally {
      await peer.close()
    }
  })

  it('listTags follows Link rel="next" pages', async () => {
    const pages: Record<string, [string[], string | undefined]> = {
      '': [['a', 'b'], '</v2/x/y/tags/list?n=2&last=b>; rel="next"'],
      b: [['c', 'd'], '</v2/x/y/tags/list?n=2&last=d>; rel="next"'],
      d: [['e'], undefined],
    }
    const peer = await scripted((req, res) => {
      const last = new URL(req.url, 'http://x').searchParams.get('last') ?? ''
      const [tags, link] = pages[last] ?? [[], undefined]
      res.writeHead(200, { 'content-type': 'application/json', ...(link ? { link } : {}) }).end(JSON.stringify({ name: 'x/y', tags }))
    })
    try {
      assert.deepEqual(await quick().repo(`${peer.host}/x/y`).listTags({ pageSize: 2 }), ['a', 'b', 'c', 'd', 'e'])
      assert.deepEqual(
        peer.seen.map((s) => s.url),
        ['/v2/x/y/tags/list?n=2', '/v2/x/y/tags/list?n=2&last=b', '/v2/x/y/tags/list?n=2&last=d'],
      )
    } finally {
      await peer.close()
    }
  })

  it('putManifest rejects a Docker-Content-Digest that differs from the bytes', async () => {
    const peer = await scripted((_r, res) => res.writeHead(201, { 'docker-content-digest': sha256('other') }).end())
    try {
      await assert.rejects(quick().repo(`${peer.host}/a/b`).putManifest('t', Buffer.from('{}'), MediaType.ociManifest), FailedPreconditionError)
    } finally {
      await peer.close()
    }
  })
})

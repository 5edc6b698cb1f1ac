import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { sha256 } from '../core/digest.ts'
import { createRegistryClient, isLoopbackHost } from './client.ts'
import { DOCKER_HUB_AUTH_KEY, staticCredentials } from './credentials.ts'

/** A fake fetch answering from a script, recording URL and Authorization of each call. */
function fakeFetch(answer: (url: string, init: RequestInit, n: number) => Response) {
  const calls: { url: string; authorization: string | undefined }[] = []
  const f = (async (input: string | URL | Request, init?: RequestInit) => {
    const headers = (init?.headers ?? {}) as Record<string, string>
    calls.push({ url: String(input), authorization: headers.authorization })
    return answer(String(input), init ?? {}, calls.length - 1)
  }) as typeof fetch
  return { f, calls }
}

describe('createRegistryClient', () => {
  it('maps docker.io to registry-1.docker.io over https and uses the Hub credentials key', async () => {
    const { f, calls } = fakeFetch((_u, _i, n) =>
      n === 0
        ? new Response(null, { status: 401, headers: { 'www-authenticate': 'Basic realm="hub"' } })
        : new Response(null, { status: 200, headers: { 'content-length': '3' } }),
    )
    const client = createRegistryClient({
      fetch: f,
      credentials: staticCredentials({ [DOCKER_HUB_AUTH_KEY]: { kind: 'basic', username: 'u', password: 'p' } }),
    })
    const repo = client.repo('busybox')
    assert.equal(repo.registry, 'docker.io')
    assert.equal(repo.repository, 'library/busybox')
    assert.deepEqual(await repo.headBlob(sha256('x')), { size: 3 })
    assert.equal(calls[0]?.url, `https://registry-1.docker.io/v2/library/busybox/blobs/${sha256('x')}`)
    assert.equal(calls[0]?.authorization, undefined)
    assert.equal(calls[1]?.authorization, `Basic ${Buffer.from('u:p').toString('base64')}`)
    // Basic is sent up front once the host is known to want it.
    await repo.headBlob(sha256('y'))
    assert.equal(calls.length, 3)
    assert.equal(calls[2]?.authorization, `Basic ${Buffer.from('u:p').toString('base64')}`)
  })

  it('uses plain HTTP for loopback and insecure hosts only', async () => {
    const { f, calls } = fakeFetch(() => new Response(null, { status: 404 }))
    const client = createRegistryClient({ fetch: f, insecure: (h) => h === 'reg.lan:5000' })
    for (const name of ['localhost:5000/a', '127.0.0.2:8080/a', 'reg.lan:5000/a', 'reg.example/a']) await client.repo(name).headBlob(sha256('x'))
    assert.deepEqual(
      calls.map((c) => c.url.split('/v2/')[0]),
      ['http://localhost:5000', 'http://127.0.0.2:8080', 'http://reg.lan:5000', 'https://reg.example'],
    )
  })

  it('isLoopbackHost', () => {
    assert.deepEqual(['localhost', '127.0.0.1:5000', '[::1]:5000', '::1', '128.0.0.1', 'localhost.example'].map(isLoopbackHost), [
      true,
      true,
      true,
      true,
      false,
      false,
    ])
  })
})

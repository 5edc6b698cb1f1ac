import assert from 'node:assert/strict'
import { chmod, mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, it } from 'node:test'
import { createDockerConfigCredentials, DOCKER_HUB_AUTH_KEY, normalizeAuthKey, spawnCredentialHelper, staticCredentials } from './credentials.ts'

const b64 = (s: string) => Buffer.from(s).toString('base64')

function store(config: unknown, o: { env?: Record<string, string>; helpers?: Record<string, Record<string, string>> } = {}) {
  const reads: string[] = []
  const calls: string[] = []
  const creds = createDockerConfigCredentials({
    env: o.env ?? { DOCKER_CONFIG: '/cfg' },
    readFile: async (p) => {
      reads.push(p)
      if (config === undefined) throw Object.assign(new Error('missing'), { code: 'ENOENT' })
      return JSON.stringify(config)
    },
    runHelper: async (helper, url) => {
      calls.push(`${helper} ${url}`)
      return o.helpers?.[helper]?.[url]
    },
  })
  return { creds, reads, calls }
}

describe('docker config credentials', () => {
  it('reads $DOCKER_CONFIG/config.json, else $HOME/.docker/config.json', async () => {
    const a = store({})
    await a.creds.get('x')
    assert.deepEqual(a.reads, ['/cfg/config.json'])
    const b = store({}, { env: { HOME: '/home/u' } })
    await b.creds.get('x')
    assert.deepEqual(b.reads, ['/home/u/.docker/config.json'])
  })
  it('decodes base64 auth, username/password and identitytoken entries', async () => {
    const { creds } = store({
      auths: {
        'reg.a:5000': { auth: b64('alice:pa:ss') },
        'https://reg.b/v1/': { username: 'bob', password: 'pw' },
        'reg.c': { identitytoken: 'refresh-123' },
      },
    })
    assert.deepEqual(await creds.get('reg.a:5000'), { kind: 'basic', username: 'alice', password: 'pa:ss' })
    assert.deepEqual(await creds.get('reg.b'), { kind: 'basic', username: 'bob', password: 'pw' })
    assert.deepEqual(await creds.get('reg.c'), { kind: 'identityToken', token: 'refresh-123' })
    assert.equal(await creds.get('reg.d'), undefined)
  })
  it('maps docker.io to the https://index.docker.io/v1/ key', async () => {
    const { creds } = store({ auths: { [DOCKER_HUB_AUTH_KEY]: { auth: b64('hub:tok') } } })
    assert.deepEqual(await creds.get('docker.io'), { kind: 'basic', username: 'hub', password: 'tok' })
    assert.equal(normalizeAuthKey('https://index.docker.io/v1/'), 'docker.io')
  })
  it('uses credHelpers for their host, then credsStore, and caches answers', async () => {
    const { creds, calls } = store(
      { credHelpers: { 'gcr.example': 'gcloud' }, credsStore: 'pass', auths: { 'other.example': { auth: b64('u:p') } } },
      {
        helpers: {
          gcloud: { 'gcr.example': JSON.stringify({ ServerURL: 'gcr.example', Username: 'oauth2accesstoken', Secret: 's1' }) },
          pass: { [DOCKER_HUB_AUTH_KEY]: JSON.stringify({ Username: '<token>', Secret: 'idtok' }) },
        },
      },
    )
    assert.deepEqual(await creds.get('gcr.example'), { kind: 'basic', username: 'oauth2accesstoken', password: 's1' })
    assert.deepEqual(await creds.get('gcr.example'), { kind: 'basic', username: 'oauth2accesstoken', password: 's1' })
    assert.deepEqual(await creds.get('docker.io'), { kind: 'identityToken', token: 'idtok' })
    // credsStore has nothing for other.example: the inline auths entry is used.
    assert.deepEqual(await creds.get('other.example'), { kind: 'basic', username: 'u', password: 'p' })
    assert.deepEqual(calls, ['gcloud gcr.example', `pass ${DOCKER_HUB_AUTH_KEY}`, 'pass other.example'])
  })
  it('a missing config file means anonymous; invalid JSON is a clear error', async () => {
    assert.equal(await store(undefined).creds.get('x'), undefined)
    const bad = createDockerConfigCredentials({ env: {}, configPath: '/c.json', readFile: async () => '{' })
    await assert.rejects(bad.get('x'), /\/c\.json: not valid JSON/)
  })
  it('staticCredentials looks up by host and hub key', async () => {
    const s = staticCredentials({ [DOCKER_HUB_AUTH_KEY]: { kind: 'basic', username: 'a', password: 'b' } })
    assert.equal((await s.get('docker.io'))?.kind, 'basic')
  })
})

describe('spawnCredentialHelper', () => {
  it('runs docker-credential-<name> get from env.PATH with the server URL on stdin', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'cairn-credhelper-'))
    try {
      const script = join(dir, 'docker-credential-fake')
      await writeFile(
        script,
        `#!/bin/sh
read url
if [ "$url" = "reg.example" ]; then printf '{"ServerURL":"%s","Username":"u","Secret":"s"}' "$url"; exit 0; fi
echo "credentials not found in native keychain"; exit 1
`,
      )
      await chmod(script, 0o755)
      const run = spawnCredentialHelper({ PATH: `${dir}:/usr/bin:/bin` })
      assert.deepEqual(JSON.parse((await run('fake', 'reg.example')) ?? ''), { ServerURL: 'reg.example', Username: 'u', Secret: 's' })
      assert.equal(await run('fake', 'other'), undefined)
      await assert.rejects(run('absent', 'x'), /docker-credential-absent not found/)
      const creds = createDockerConfigCredentials({ env: { PATH: `${dir}:/usr/bin:/bin` }, readFile: async () => '{"credsStore":"fake"}' })
      assert.deepEqual(await creds.get('reg.example'), { kind: 'basic', username: 'u', password: 's' })
    } finally {
      await rm(dir, { recursive: true, force: true })
    }
  })
})

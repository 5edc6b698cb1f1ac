import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { sha256 } from '../core/digest.ts'
import { type ExecOpSpec, execCacheMapJSON } from '../ops/exec-op.ts'
import { prepareSecrets, secretEnvKeyJSON, secretMountsKeyJSON, withEnv } from './exec-secrets.ts'
import { createSecretStore } from './store.ts'

const base: ExecOpSpec = {
  args: ['/bin/sh', '-c', 'cat /run/secrets/x'],
  env: ['PATH=/bin'],
  cwd: '/',
  platform: { os: 'linux', architecture: 'amd64' },
  origin: 'Dockerfile:2',
}

describe('secret mounts in the exec cache map', () => {
  it('appends secret mounts after the sorted mounts with input -1 and BuildKit secretOpt fields', () => {
    const json = JSON.parse(
      execCacheMapJSON({
        ...base,
        mounts: [{ kind: 'tmpfs', dest: '/tmp', input: -1, readonly: false }],
        secrets: [
          { id: 'x', dest: '/run/secrets/x', mode: 0o400, uid: 0, gid: 0, required: false },
          { id: 'y', dest: '/etc/y', mode: 0o440, uid: 1000, gid: 2, required: true },
        ],
      }),
    )
    assert.deepEqual(json.Exec.mounts, [
      { dest: '/' },
      { input: -1, dest: '/tmp', output: -1, mountType: 4, TmpfsOpt: {} },
      { input: -1, dest: '/run/secrets/x', mountType: 1, secretOpt: { ID: 'x', mode: 256, optional: true } },
      { input: -1, dest: '/etc/y', mountType: 1, secretOpt: { ID: 'y', uid: 1000, gid: 2, mode: 288 } },
    ])
  })
  it('an env secret is keyed in secretenv by id and name only; the value never takes part', () => {
    const spec: ExecOpSpec = { ...base, secrets: [{ id: 'tok', env: 'TOKEN', mode: 0o400, uid: 0, gid: 0, required: false }] }
    const text = execCacheMapJSON(spec)
    assert.deepEqual(JSON.parse(text).Exec.secretenv, [{ ID: 'tok', name: 'TOKEN', optional: true }])
    assert.equal(JSON.parse(text).Exec.mounts, undefined, 'an env-only secret adds no mount')
    assert.ok(text.indexOf('"secretenv"') > text.indexOf('"meta"'))
    // the key is a function of the spec alone: two builds with different values share it
    assert.equal(sha256(execCacheMapJSON(spec)), sha256(text))
    assert.deepEqual(secretMountsKeyJSON(spec.secrets ?? []), [])
    assert.equal(secretEnvKeyJSON([]), undefined)
  })
})

describe('prepareSecrets', () => {
  it('an optional missing secret is skipped; a required one fails naming the id and the --secret flag', async () => {
    const none = await prepareSecrets([{ id: 'opt', dest: '/run/secrets/opt', mode: 0o400, uid: 0, gid: 0, required: false }], createSecretStore({}), {
      dir: '/nonexistent',
      origin: 'Dockerfile:4',
    })
    assert.deepEqual(none.mounts, [])
    await assert.rejects(
      prepareSecrets([{ id: 'npmrc', dest: '/run/secrets/npmrc', mode: 0o400, uid: 0, gid: 0, required: true }], createSecretStore({}), {
        dir: '/nonexistent',
        origin: 'Dockerfile:4',
      }),
      (e: Error & { hint?: string }) => /Dockerfile:4: secret "npmrc" is required/.test(e.message) && /--secret id=npmrc/.test(e.hint ?? ''),
    )
  })
  it('env secrets become process variables only (no mount, nothing on disk)', async () => {
    const p = await prepareSecrets([{ id: 't', env: 'TOKEN', mode: 0o400, uid: 0, gid: 0, required: true }], createSecretStore({ t: 'v4lue' }), {
      dir: '/nonexistent',
      origin: 'D:1',
    })
    assert.deepEqual(p.mounts, [])
    assert.deepEqual(withEnv(['PATH=/bin', 'TOKEN=old'], p.env), ['PATH=/bin', 'TOKEN=v4lue'])
    await p.release()
  })
})

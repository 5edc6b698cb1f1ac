import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { CairnError } from '../core/errors.ts'
import { createSecretStore, loadSecrets, MAX_SECRET_BYTES, parseSecretFlag } from './store.ts'

describe('parseSecretFlag (buildx syntax)', () => {
  it('accepts the long, short and typed forms', () => {
    assert.deepEqual(parseSecretFlag('id=a,src=/f'), { id: 'a', file: '/f' })
    assert.deepEqual(parseSecretFlag('id=a,source=/f'), { id: 'a', file: '/f' })
    assert.deepEqual(parseSecretFlag('id=a,env=VAR'), { id: 'a', env: 'VAR' })
    assert.deepEqual(parseSecretFlag('id=a'), { id: 'a' })
    assert.deepEqual(parseSecretFlag('type=env,id=a,src=VAR'), { id: 'a', env: 'VAR' })
    assert.deepEqual(parseSecretFlag('type=file,id=a,src=/f'), { id: 'a', file: '/f' })
    assert.deepEqual(parseSecretFlag('"id=a,b",src=/f'), { id: 'a,b', file: '/f' })
  })
  it('rejects unknown keys, bad types, bare fields and a missing id, naming the flag', () => {
    for (const bad of ['id=a,foo=b', 'id=a,type=ssh', 'id=a,src', 'src=/f']) {
      assert.throws(
        () => parseSecretFlag(bad),
        (e: unknown) => e instanceof CairnError && e.message.startsWith('--secret') && e.hint !== undefined,
        bad,
      )
    }
  })
})

describe('loadSecrets', () => {
  const files: Record<string, string> = { '/f': 'from-file', tok: 'file-named-like-the-id' }
  const readFile = async (p: string) => {
    const v = files[p]
    if (v === undefined) throw Object.assign(new Error('nope'), { code: 'ENOENT' })
    return Buffer.from(v)
  }
  it('reads files and env variables once; a bare id is an env variable if set, else a file', async () => {
    const { store, notes } = await loadSecrets([{ id: 'a', file: '/f' }, { id: 'b', env: 'B' }, { id: 'C' }, { id: 'tok' }, { id: 'a', env: 'B' }], {
      env: { B: 'from-env', C: 'c-from-env' },
      readFile,
    })
    assert.deepEqual(store.ids().sort(), ['C', 'a', 'b', 'tok'])
    assert.equal(store.get('a')?.toString(), 'from-env', 'a later flag for the same id wins')
    assert.equal(store.get('b')?.toString(), 'from-env')
    assert.equal(store.get('C')?.toString(), 'c-from-env')
    assert.equal(store.get('tok')?.toString(), 'file-named-like-the-id')
    assert.deepEqual(notes, [])
  })
  it('an unset env variable leaves the secret out with a note; a missing file or an oversized secret is an error without the value', async () => {
    const r = await loadSecrets([{ id: 'x', env: 'UNSET' }], { env: {}, readFile })
    assert.equal(r.store.get('x'), undefined)
    assert.match(r.notes[0] ?? '', /secret "x": environment variable UNSET is not set/)
    await assert.rejects(loadSecrets([{ id: 'x', file: '/missing' }], { env: {}, readFile }), /--secret id=x: cannot read \/missing \(ENOENT\)/)
    const big = 'z'.repeat(MAX_SECRET_BYTES + 1)
    await assert.rejects(
      loadSecrets([{ id: 'x', env: 'BIG' }], { env: { BIG: big }, readFile }),
      (e: Error) => /limit/.test(e.message) && !e.message.includes('zzzz'),
    )
  })
  it('createSecretStore copies its values', () => {
    const buf = Buffer.from('abcd')
    const s = createSecretStore(new Map([['k', buf]]))
    buf.fill(0)
    assert.equal(s.get('k')?.toString(), 'abcd')
  })
})

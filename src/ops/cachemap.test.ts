import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { execCacheMapJSON } from './exec-op.ts'
import { fileCacheMapJSON } from './file-op.ts'

const PATH = 'PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin'
const platform = { os: 'linux', architecture: 'amd64' }
const b64 = (s: string) => Buffer.from(s).toString('base64')

// Plaintexts from buildkit-cache-keys.md §3.3–3.4 (BuildKit ≥ v0.18, dockerfile frontend ≥ 1.5).
describe('BuildKit cache-map descriptions', () => {
  it('RUN: the exec plaintext BuildKit hashes', () => {
    assert.equal(
      execCacheMapJSON({ args: ['/bin/sh', '-c', 'apk add curl'], env: [PATH], cwd: '/', platform, origin: 'x' }),
      `{"Type":"buildkit.exec.v0","Exec":{"meta":{"args":["/bin/sh","-c","apk add curl"],"env":["${PATH}"],"cwd":"/","removeMountStubsRecursive":true}},"OS":"linux","Arch":"amd64"}`,
    )
  })
  it('RUN: Go escapes & < > and adds user and network', () => {
    const j = execCacheMapJSON({ args: ['/bin/sh', '-c', 'a && b > c'], env: [], cwd: '/app', user: 'app', network: 'none', platform, origin: 'x' })
    assert.equal(j, '{"Type":"buildkit.exec.v0","Exec":{"meta":{"args":["/bin/sh","-c","a \\u0026\\u0026 b \\u003e c"],"cwd":"/app","user":"app","removeMountStubsRecursive":true},"network":2},"OS":"linux","Arch":"amd64"}')
  })
  it('COPY: each action base64-encoded in the file-op envelope, src reduced to its base name', () => {
    const action = '{"src":"package.json","dest":"/app/","mode":-1,"followSymlink":true,"dirCopyContents":true,"createDestPath":true,"allowWildcard":true,"allowEmptyWildcard":true,"timestamp":-1}'
    const j = fileCacheMapJSON({ hasBase: true, origin: 'x', createdBy: 'x', actions: [{ kind: 'copy', input: 1, src: '/package.json', dest: '/app/' }] })
    assert.equal(j, `{"Type":"buildkit.file.v0","Actions":["${b64(action)}"]}`)
  })
  it('COPY --chown: the v0.18 owner shape', () => {
    const j = fileCacheMapJSON({ hasBase: true, origin: 'x', createdBy: 'x', actions: [{ kind: 'copy', input: 1, src: '/a', dest: '/b', chown: '1000:app' }] })
    const action = JSON.parse(Buffer.from(JSON.parse(j).Actions[0], 'base64').toString()) as Record<string, unknown>
    assert.deepEqual(action.owner, { user: { User: { byId: 1000 } }, group: { User: { byName: { name: 'app' } } } })
    const root = fileCacheMapJSON({ hasBase: true, origin: 'x', createdBy: 'x', actions: [{ kind: 'copy', input: 1, src: '/a', dest: '/b', chown: '0' }] })
    assert.deepEqual(JSON.parse(Buffer.from(JSON.parse(root).Actions[0], 'base64').toString()).owner, { user: { User: {} } })
  })
  it('WORKDIR: the mkdir action', () => {
    const j = fileCacheMapJSON({ hasBase: true, origin: 'x', createdBy: 'x', actions: [{ kind: 'mkdir', path: '/app', mode: 0o755 }] })
    assert.equal(JSON.parse(j).Actions[0], b64('{"path":"/app","mode":493,"makeParents":true,"timestamp":-1}'))
  })
  it('COPY onto scratch writes the indexes out', () => {
    const j = JSON.parse(fileCacheMapJSON({ hasBase: false, origin: 'x', createdBy: 'x', actions: [{ kind: 'copy', input: 0, src: '/a', dest: '/' }] }))
    assert.deepEqual(j.indexes, [[-1, 0, 0]])
  })
})

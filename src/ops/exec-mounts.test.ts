import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { sha256 } from '../core/digest.ts'
import { dedupePaths, mountDeps } from './exec-mounts.ts'
import { ExecOp, execCacheMapJSON } from './exec-op.ts'

const PATH = 'PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin'
const platform = { os: 'linux', architecture: 'amd64' }
const base = { args: ['/bin/sh', '-c', 'go build'], env: [PATH], cwd: '/', platform, origin: 'x' }
const mountsOf = (j: string) => JSON.parse(j).Exec.mounts as unknown[]

// buildkit-cache-keys.md §1.3 and §3.3
describe('exec cache map with mounts', () => {
  it('a default cache mount keeps its ID (the §3.3 example)', () => {
    const j = execCacheMapJSON({
      ...base,
      mounts: [{ kind: 'cache', dest: '/root/.cache', input: -1, readonly: false, cacheId: '//root/.cache', sharing: 'shared' }],
    })
    assert.ok(j.includes('"mounts":[{"dest":"/"},{"input":-1,"dest":"/root/.cache","output":-1,"mountType":3,"cacheOpt":{"ID":"//root/.cache"}}]'), j)
    assert.ok(j.startsWith('{"Type":"buildkit.exec.v0","Exec":{"meta":{'), j)
    assert.ok(
      j.endsWith(
        '"removeMountStubsRecursive":true},"mounts":[{"dest":"/"},{"input":-1,"dest":"/root/.cache","output":-1,"mountType":3,"cacheOpt":{"ID":"//root/.cache"}}]},"OS":"linux","Arch":"amd64"}',
      ),
      j,
    )
  })
  it('an explicit id or non-shared sharing clears cacheOpt', () => {
    const id = mountsOf(execCacheMapJSON({ ...base, mounts: [{ kind: 'cache', dest: '/c', input: -1, readonly: false, cacheId: '/mine', sharing: 'shared' }] }))
    assert.deepEqual(id[1], { input: -1, dest: '/c', output: -1, mountType: 3, cacheOpt: {} })
    const locked = mountsOf(
      execCacheMapJSON({ ...base, mounts: [{ kind: 'cache', dest: '/c', input: -1, readonly: false, cacheId: '//c', sharing: 'locked' }] }),
    )
    assert.deepEqual(locked[1], { input: -1, dest: '/c', output: -1, mountType: 3, cacheOpt: {} })
  })
  it('bind mounts: read-only by default, rw has no output; mounts sorted by dest; selectors cleared', () => {
    const j = execCacheMapJSON({
      ...base,
      mounts: [
        { kind: 'bind', dest: '/src', input: 1, readonly: true, selector: 'go.mod' },
        { kind: 'bind', dest: '/a', input: 2, readonly: false },
        { kind: 'tmpfs', dest: '/tmp', input: -1, readonly: false, size: 1048576 },
        { kind: 'tmpfs', dest: '/t0', input: -1, readonly: false },
      ],
    })
    assert.deepEqual(mountsOf(j), [
      { dest: '/' },
      { input: 2, dest: '/a', output: -1 },
      { input: 1, dest: '/src', output: -1, readonly: true },
      { input: -1, dest: '/t0', output: -1, mountType: 4, TmpfsOpt: {} },
      { input: -1, dest: '/tmp', output: -1, mountType: 4, TmpfsOpt: { size: 1048576 } },
    ])
    assert.ok(!j.includes('go.mod'), 'selectors never enter the description')
  })
  it('network none/host are enum numbers', () => {
    assert.equal(JSON.parse(execCacheMapJSON({ ...base, network: 'none' })).Exec.network, 2)
    assert.equal(JSON.parse(execCacheMapJSON({ ...base, network: 'host' })).Exec.network, 1)
    assert.equal(JSON.parse(execCacheMapJSON({ ...base, network: 'sandbox' })).Exec.network, undefined)
  })
})

describe('exec mount deps (getMountDeps)', () => {
  it('the rootfs selects "/" and is never content-hashed', () => {
    assert.deepEqual(mountDeps([], 1), [{ selectors: ['/'], contentHash: false, contentPaths: ['/'] }])
  })
  it('read-only binds and cache sources are content-hashed with their selectors', () => {
    const deps = mountDeps(
      [
        { kind: 'bind', dest: '/x', input: 1, readonly: true, selector: 'go.mod' },
        { kind: 'bind', dest: '/y', input: 1, readonly: true, selector: '/go.sum' },
        { kind: 'cache', dest: '/c', input: 2, readonly: false, selector: '/cache', cacheId: '/c' },
        { kind: 'tmpfs', dest: '/t', input: -1, readonly: false },
      ],
      3,
    )
    assert.deepEqual(deps[1], { selectors: ['/go.mod', '/go.sum'], contentHash: true, contentPaths: ['/go.mod', '/go.sum'] })
    assert.deepEqual(deps[2], { selectors: ['/cache'], contentHash: true, contentPaths: ['/cache'] })
  })
  it('the op wires selector digests and content functions per input', async () => {
    const op = new ExecOp(
      { ...base, mounts: [{ kind: 'bind', dest: '/src', input: 1, readonly: true, selector: 'a' }] },
      { layers: {} as never, executor: {} as never, workDir: '/x', checksum: async () => sha256('c') },
    )
    const cm = await op.cacheMap()
    assert.equal(cm.deps.length, 2)
    assert.equal(cm.deps[0]?.selector, sha256('/'))
    assert.equal(cm.deps[0]?.contentDigest, undefined)
    assert.equal(cm.deps[1]?.selector, sha256('/a'))
    assert.equal(typeof cm.deps[1]?.contentDigest, 'function')
  })
  it('dedupePaths drops children and sorts', () => {
    assert.deepEqual(dedupePaths(['/b/c', '/a', '/b', '/ab']), ['/a', '/ab', '/b'])
    assert.deepEqual(dedupePaths(['/x', '/']), ['/'])
  })
})

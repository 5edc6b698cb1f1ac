import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { sha256 } from '../core/digest.ts'
import { parseModeStr } from './file/chmod.ts'
import { fileCacheMapJSON } from './file-op.ts'
import { httpCacheKeyJSON, urlFilename } from './http-source.ts'
import { MergeOp, mergeCacheMapJSON } from './merge-op.ts'

const action = (j: string, i = 0) => JSON.parse(Buffer.from(JSON.parse(j).Actions[i], 'base64').toString()) as Record<string, unknown>
const actionText = (j: string, i = 0) => Buffer.from(JSON.parse(j).Actions[i], 'base64').toString()

describe('merge op (COPY --link)', () => {
  it('keys as BuildKit v0.17+ (§3.5)', async () => {
    assert.equal(mergeCacheMapJSON(2), '{"Type":"buildkit.merge.v0","Merge":{"inputs":[{},{"input":1}]}}')
    const cm = await new MergeOp(2, 'x').cacheMap()
    assert.equal(cm.digest, sha256('{"Type":"buildkit.merge.v0","Merge":{"inputs":[{},{"input":1}]}}'))
    assert.deepEqual(cm.deps, [{}, {}])
  })
  it('stacks the layer chains without reading them', async () => {
    const r = await new MergeOp(2, 'x').exec([
      { kind: 'layers', layers: ['a', 'b'] },
      { kind: 'layers', layers: ['c'] },
    ])
    assert.deepEqual(r, { kind: 'layers', layers: ['a', 'b', 'c'] })
  })
})

describe('http source key (§3.2)', () => {
  it('formatCacheKey JSON', () => {
    const d = sha256('body')
    assert.equal(httpCacheKeyJSON('f.txt', d), `{"Filename":"f.txt","Perm":0,"UID":0,"GID":0,"Checksum":"${d}"}`)
    assert.equal(
      httpCacheKeyJSON('f', d, 'Mon, 01 Jan 2024 00:00:00 GMT'),
      `{"Filename":"f","Perm":0,"UID":0,"GID":0,"Checksum":"${d}","LastModTime":"Mon, 01 Jan 2024 00:00:00 GMT"}`,
    )
  })
  it('file names from URLs', () => {
    assert.equal(urlFilename('https://example.com/a/b/tool.tar.gz?x=1'), 'tool.tar.gz')
    assert.equal(urlFilename('https://example.com/'), '__unnamed__')
    assert.equal(urlFilename('http://127.0.0.1:8080'), '__unnamed__')
  })
})

describe('file actions', () => {
  it('symbolic --chmod: mode -1 and modeStr last but required_paths', () => {
    const j = fileCacheMapJSON({ hasBase: true, origin: 'x', createdBy: 'x', actions: [{ kind: 'copy', input: 1, src: '/a', dest: '/b', modeStr: 'u+x' }] })
    assert.equal(
      actionText(j),
      '{"src":"a","dest":"/b","mode":-1,"followSymlink":true,"dirCopyContents":true,"createDestPath":true,"allowWildcard":true,"allowEmptyWildcard":true,"timestamp":-1,"modeStr":"u+x"}',
    )
  })
  it('octal --chmod, --exclude, --parents', () => {
    const j = fileCacheMapJSON({
      hasBase: true,
      origin: 'x',
      createdBy: 'x',
      actions: [{ kind: 'copy', input: 1, src: '/', dest: '/d/', chmod: 0o755, excludes: ['*.md'], parents: ['x/*.go'] }],
    })
    assert.equal(
      actionText(j),
      '{"src":"/","dest":"/d/","mode":493,"followSymlink":true,"dirCopyContents":true,"createDestPath":true,"allowWildcard":true,"allowEmptyWildcard":true,"timestamp":-1,"include_patterns":["x/*.go"],"exclude_patterns":["*.md"],"required_paths":["x/*.go"]}',
    )
  })
  it('ADD: attemptUnpackDockerCompatibility; URL and heredoc copies only createDestPath', () => {
    const add = fileCacheMapJSON({ hasBase: true, origin: 'x', createdBy: 'x', actions: [{ kind: 'copy', input: 1, src: '/a.tar', dest: '/', unpack: true }] })
    assert.equal(action(add).attemptUnpackDockerCompatibility, true)
    const url = fileCacheMapJSON({ hasBase: true, origin: 'x', createdBy: 'x', actions: [{ kind: 'copy', input: 1, src: '/f.txt', dest: '/d/', plain: true }] })
    assert.equal(actionText(url), '{"src":"f.txt","dest":"/d/","mode":-1,"createDestPath":true,"timestamp":-1}')
  })
  it('heredoc mkfile on scratch and the cache-mount permissions mkdir', () => {
    const mk = fileCacheMapJSON({
      hasBase: false,
      origin: 'x',
      createdBy: 'x',
      actions: [{ kind: 'mkfile', path: '/EOF', mode: 0o644, data: Buffer.from('hi\n') }],
    })
    assert.equal(actionText(mk), `{"path":"/EOF","mode":420,"data":"${Buffer.from('hi\n').toString('base64')}","timestamp":-1}`)
    assert.deepEqual(JSON.parse(mk).indexes, [[-1, -1, 0]])
    const perm = fileCacheMapJSON({
      hasBase: false,
      origin: 'x',
      createdBy: 'x',
      actions: [{ kind: 'mkdir', path: '/cache', mode: 0o700, chown: '1000:0', makeParents: false }],
    })
    assert.equal(actionText(perm), '{"path":"/cache","mode":448,"owner":{"user":{"User":{"byId":1000}},"group":{"User":{}}},"timestamp":-1}')
  })
})

describe('symbolic modes', () => {
  it('applies like chmod(1)', () => {
    assert.equal(parseModeStr('u+x')(0o644, false), 0o744)
    assert.equal(parseModeStr('go-r')(0o644, false), 0o600)
    assert.equal(parseModeStr('a+X')(0o644, false), 0o644)
    assert.equal(parseModeStr('a+X')(0o644, true), 0o755)
    assert.equal(parseModeStr('+x')(0o600, false), 0o711)
    assert.equal(parseModeStr('u=rw,g=u,o=')(0o777, false), 0o660)
    assert.equal(parseModeStr('0750')(0o644, false), 0o750)
    assert.throws(() => parseModeStr('u+q'), /invalid chmod parameter/)
  })
})

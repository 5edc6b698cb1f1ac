import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { sha256 } from './digest.ts'
import { bool, bytes, type GoInput, goMarshal, goString, int64, map, nil, raw, slice, str, struct } from './gojson.ts'

const OE = { omitempty: true } as const
const PATH = 'PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin'

/** pb.Meta in protobuf-go declaration order. */
function meta(m: { args?: string[]; env?: string[]; cwd?: string; user?: string; removeMountStubsRecursive?: boolean }) {
  return struct([
    ['args', m.args, OE],
    ['env', m.env, OE],
    ['cwd', m.cwd ?? '', OE],
    ['user', m.user ?? '', OE],
    ['proxy_env', nil, OE],
    ['extraHosts', null, OE],
    ['hostname', '', OE],
    ['ulimit', null, OE],
    ['cgroupParent', '', OE],
    ['removeMountStubsRecursive', m.removeMountStubsRecursive ?? false, OE],
    ['validExitCodes', null, OE],
  ])
}

/** pb.Mount in declaration order. */
function mount(m: { input?: number; dest: string; output?: number; mountType?: number; cacheID?: string }) {
  return struct([
    ['input', m.input ?? 0, OE],
    ['selector', '', OE],
    ['dest', m.dest, OE],
    ['output', m.output ?? 0, OE],
    ['readonly', false, OE],
    ['mountType', m.mountType ?? 0, OE],
    ['TmpfsOpt', nil, OE],
    ['cacheOpt', m.cacheID === undefined ? nil : struct([['ID', m.cacheID, OE], ['sharing', 0, OE]]), OE],
    ['secretOpt', nil, OE],
    ['SSHOpt', nil, OE],
    ['resultID', '', OE],
    ['contentCache', 0, OE],
  ])
}

function execCacheMap(execMeta: GoInput, mounts: GoInput[] | null): string {
  const exec = struct([
    ['meta', execMeta, OE],
    ['mounts', mounts, OE],
    ['network', 0, OE],
    ['security', 0, OE],
    ['secretenv', null, OE],
    ['cdiDevices', null, OE],
  ])
  return goMarshal(struct([['Type', 'buildkit.exec.v0'], ['Exec', exec], ['OS', 'linux'], ['Arch', 'amd64'], ['Variant', '', OE], ['OSVersion', '', OE], ['OSFeatures', null, OE]]))
}

function copyAction(src: string, dest: string): GoInput {
  return struct([
    ['src', src, OE], ['dest', dest, OE], ['owner', nil, OE], ['mode', -1, OE], ['followSymlink', true, OE],
    ['dirCopyContents', true, OE], ['attemptUnpackDockerCompatibility', false, OE], ['createDestPath', true, OE],
    ['allowWildcard', true, OE], ['allowEmptyWildcard', true, OE], ['timestamp', int64(-1n), OE],
    ['include_patterns', null, OE], ['exclude_patterns', null, OE], ['alwaysReplaceExistingDestPaths', false, OE],
    ['modeStr', '', OE], ['required_paths', null, OE],
  ])
}

describe('goString', () => {
  it('escapes HTML characters, U+2028/2029 and quotes', () => {
    assert.equal(goString('a && b <c> "q" \\'), '"a \\u0026\\u0026 b \\u003cc\\u003e \\"q\\" \\\\"')
    assert.equal(goString('x\u2028y\u2029z'), '"x\\u2028y\\u2029z"')
  })
  it('prints control characters like Go ≥ 1.22', () => {
    assert.equal(goString('\b\f\n\r\t\u0000\u001f\u007f'), '"\\b\\f\\n\\r\\t\\u0000\\u001f\u007f"')
  })
  it('replaces unpaired surrogates with \\ufffd and keeps valid pairs', () => {
    assert.equal(goString('a\ud800b\udc00'), '"a\\ufffdb\\ufffd"')
    assert.equal(goString('😀é\ufffd'), '"😀é\ufffd"')
  })
})

describe('goMarshal', () => {
  it('omitempty, nil and empty values', () => {
    assert.equal(goMarshal(struct([['a', null], ['b', slice([])], ['c', bytes(null)], ['d', bytes(new Uint8Array())], ['e', 0, OE], ['f', struct([]), OE]])), '{"a":null,"b":[],"c":null,"d":"","f":{}}')
  })
  it('int64 beyond 2^53 and maps in key order', () => {
    assert.equal(goMarshal(slice([int64(1700000000123456789n), -1, map({ b: 1, a: str('x'), B: bool(true) }), raw('{"r":1}')])), '[1700000000123456789,-1,{"B":true,"a":"x","b":1},{"r":1}]')
    assert.throws(() => int64(2 ** 60))
  })

  it('exec CacheMap for FROM alpine + RUN apk add curl (§3.3)', () => {
    const got = execCacheMap(meta({ args: ['/bin/sh', '-c', 'apk add curl'], env: [PATH], cwd: '/', removeMountStubsRecursive: true }), null)
    assert.equal(got, `{"Type":"buildkit.exec.v0","Exec":{"meta":{"args":["/bin/sh","-c","apk add curl"],"env":["${PATH}"],"cwd":"/","removeMountStubsRecursive":true}},"OS":"linux","Arch":"amd64"}`)
    assert.equal(sha256(got), sha256(Buffer.from(got, 'utf8')))
  })

  it('exec CacheMap with a cache mount (§3.3)', () => {
    const mounts = [mount({ dest: '/' }), mount({ input: -1, dest: '/root/.cache', output: -1, mountType: 3, cacheID: '//root/.cache' })]
    const got = execCacheMap(meta({ args: ['/bin/sh', '-c', 'make && make install'], cwd: '/', removeMountStubsRecursive: true }), mounts)
    assert.equal(got, '{"Type":"buildkit.exec.v0","Exec":{"meta":{"args":["/bin/sh","-c","make \\u0026\\u0026 make install"],"cwd":"/","removeMountStubsRecursive":true},' +
      '"mounts":[{"dest":"/"},{"input":-1,"dest":"/root/.cache","output":-1,"mountType":3,"cacheOpt":{"ID":"//root/.cache"}}]},"OS":"linux","Arch":"amd64"}')
  })

  it('copy action, mkdir, owner and merge (§3.4–3.5)', () => {
    assert.equal(goMarshal(copyAction('package.json', '/app/')),
      '{"src":"package.json","dest":"/app/","mode":-1,"followSymlink":true,"dirCopyContents":true,"createDestPath":true,"allowWildcard":true,"allowEmptyWildcard":true,"timestamp":-1}')
    const mkdir = struct([['path', '/app', OE], ['mode', 0o755, OE], ['makeParents', true, OE], ['owner', nil, OE], ['timestamp', -1, OE]])
    assert.equal(goMarshal(mkdir), '{"path":"/app","mode":493,"makeParents":true,"timestamp":-1}')
    const userOpt = (u: GoInput) => struct([['User', u]])
    const owner = struct([
      ['user', userOpt(struct([['byId', 1000, OE]])), OE],
      ['group', userOpt(struct([['byName', struct([['name', 'app', OE], ['input', 0, OE]])]])), OE],
    ])
    assert.equal(goMarshal(owner), '{"user":{"User":{"byId":1000}},"group":{"User":{"byName":{"name":"app"}}}}')
    assert.equal(goMarshal(userOpt(struct([['byId', 0, OE]]))), '{"User":{}}')
    const merge = struct([['Type', 'buildkit.merge.v0'], ['Merge', struct([['inputs', [struct([['input', 0, OE]]), struct([['input', 1, OE]])], OE]])]])
    assert.equal(goMarshal(merge), '{"Type":"buildkit.merge.v0","Merge":{"inputs":[{},{"input":1}]}}')
  })

  it('file-op envelope with base64 actions and indexes (§3.4)', () => {
    const action = Buffer.from(goMarshal(copyAction('package.json', '/app/')))
    const env = (indexes: GoInput) => goMarshal(struct([['Type', 'buildkit.file.v0'], ['Actions', [action]], ['indexes', indexes, OE]]))
    const b64 = action.toString('base64')
    assert.equal(b64.slice(0, 24), 'eyJzcmMiOiJwYWNrYWdlLmpz')
    assert.equal(env(null), `{"Type":"buildkit.file.v0","Actions":["${b64}"]}`)
    assert.equal(env([[-1, 0, 0]]), `{"Type":"buildkit.file.v0","Actions":["${b64}"],"indexes":[[-1,0,0]]}`)
  })
})

import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import { InvalidArgumentError } from '../../core/errors.ts'
import { parseRunMount } from './run-mount.ts'

const mount = (spec: string) => parseRunMount(spec).mount
const rejects = (spec: string, text: string) =>
  assert.throws(
    () => parseRunMount(spec),
    (err: unknown) => err instanceof InvalidArgumentError && err.message.includes(text),
    spec,
  )

describe('parseRunMount', () => {
  test('defaults per type', () => {
    assert.deepEqual(mount('target=/src'), { type: 'bind', target: '/src', readonly: true })
    assert.deepEqual(mount('type=bind,src=a,dst=/b,rw'), { type: 'bind', source: 'a', target: '/b', readonly: false })
    assert.deepEqual(mount('type=cache,target=/c'), { type: 'cache', target: '/c', readonly: false, sharing: 'shared' })
    assert.deepEqual(mount('type=tmpfs,target=/t,size=64m'), { type: 'tmpfs', target: '/t', readonly: false, size: 64 * 1024 ** 2 })
    assert.deepEqual(mount('type=secret,id=npm'), { type: 'secret', id: 'npm', target: '/run/secrets/npm', readonly: true })
    assert.deepEqual(mount('type=secret,target=/x/tok,required'), {
      type: 'secret',
      target: '/x/tok',
      id: 'tok',
      required: true,
      readonly: true,
    })
    assert.deepEqual(mount('type=secret,id=aws,env=AWS'), { type: 'secret', id: 'aws', env: 'AWS', readonly: true })
    assert.deepEqual(mount('type=ssh'), { type: 'ssh', id: 'default', readonly: true })
  })
  test('options', () => {
    assert.deepEqual(
      mount('type=cache,target=/c,id=x,sharing=LOCKED,mode=0755,uid=1000,gid=1000,from=img,source=/s,ro=true'),
      {
        type: 'cache', target: '/c', id: 'x', sharing: 'locked', mode: 0o755, uid: 1000, gid: 1000, from: 'img',
        source: '/s', readonly: true,
      },
    )
    assert.equal(mount('type=bind,readwrite=true').readonly, false)
    assert.equal(mount('"type=bind","target=/a,b"').target, '/a,b')
  })
  test('variables are left for the converter', () => {
    const r = parseRunMount('type=cache,target=$HOME/.cache,mode=$M,id=${ID}')
    assert.equal(r.needsExpansion, true)
    assert.deepEqual(r.mount, { type: 'cache', target: '$HOME/.cache', id: '${ID}', readonly: false, sharing: 'shared' })
    const expanded = parseRunMount('type=cache,target=$HOME/.cache,mode=$M', (w) => w.replace('$HOME', '/root').replace('$M', '700'))
    assert.deepEqual(expanded.mount, { type: 'cache', target: '/root/.cache', mode: 0o700, readonly: false, sharing: 'shared' })
    assert.equal(parseRunMount('type=$T,target=/x,sharing=private').needsExpansion, true)
  })
  test('errors', () => {
    rejects('type=nfs', 'unsupported mount type "nfs"')
    rejects('type=cache,sharing=x', 'unsupported sharing value "x"')
    rejects('type=bind,foo=bar', "unexpected key 'foo' in 'foo=bar'")
    rejects('type=bind,oops', "invalid field 'oops' must be a key=value pair")
    rejects('type=bind,required', "unexpected key 'required' for mount type 'bind'")
    rejects('type=cache,size=1m', "unexpected key 'size' for mount type 'cache'")
    rejects('type=tmpfs,size=lots', 'invalid value for size: lots')
    rejects('type=bind,mode=0700', 'mode not allowed for "bind" type mounts')
    rejects('type=cache,mode=9', 'invalid value 9 for mode')
    rejects('type=cache,uid=-1', 'invalid value -1 for uid')
    rejects('type=bind,ro=maybe', 'invalid value for ro: maybe')
    rejects('type=secret', 'invalid secret mount. one of source, target required')
    rejects('type=secret,id=a,source=b', "both source and id can't be set")
    rejects('type=secret,id=a,from=x', 'secret mount should not have a from')
    rejects('type=bind,sharing=shared', 'invalid cache sharing set for bind mount')
    rejects('type=ssh,source=x', 'ssh does not support source')
    rejects('type=bind,from=$STAGE', "'from' doesn't support variable expansion")
    rejects('type=bind,"x', 'failed to parse csv mounts')
  })
})

import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { parseRunMount } from '../instructions/index.ts'
import { secretMount } from './convert-secret.ts'

const conv = (spec: string, workdir = '/') => secretMount(parseRunMount(spec).mount, workdir)

describe('secretMount (BuildKit defaults)', () => {
  it('defaults the target, mode, owner and optionality', () => {
    assert.deepEqual(conv('type=secret,id=npmrc'), { id: 'npmrc', dest: '/run/secrets/npmrc', mode: 0o400, uid: 0, gid: 0, required: false })
    assert.deepEqual(conv('type=secret,target=/root/.npmrc'), { id: '.npmrc', dest: '/root/.npmrc', mode: 0o400, uid: 0, gid: 0, required: false })
    assert.deepEqual(conv('type=secret,id=t,target=rel/f,mode=0440,uid=1,gid=2,required=true', '/app'), {
      id: 't',
      dest: '/app/rel/f',
      mode: 0o440,
      uid: 1,
      gid: 2,
      required: true,
    })
  })
  it('env= alone mounts no file; env= with a target gives both', () => {
    assert.deepEqual(conv('type=secret,id=tok,env=TOKEN'), { id: 'tok', env: 'TOKEN', mode: 0o400, uid: 0, gid: 0, required: false })
    assert.deepEqual(conv('type=secret,id=tok,env=TOKEN,target=/t'), { id: 'tok', dest: '/t', env: 'TOKEN', mode: 0o400, uid: 0, gid: 0, required: false })
  })
})

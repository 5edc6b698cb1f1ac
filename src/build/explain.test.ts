import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { sha256 } from '../core/digest.ts'
import { explainMiss, type StepMemory } from './explain.ts'

const exec = (env: string[], args = ['/bin/sh', '-c', 'make']) =>
  JSON.stringify({ Type: 'buildkit.exec.v0', Exec: { meta: { args, env, cwd: '/src', removeMountStubsRecursive: true } }, OS: 'linux', Arch: 'amd64' })
const step = (description: string, deps: StepMemory['deps'], inputs = ['[build 2/4] COPY src/ ./']): StepMemory => ({ name: 'RUN make', description, deps, inputs })

describe('explainMiss', () => {
  it('names a first build', () => {
    assert.match(explainMiss(undefined, step(exec([]), [])), /no earlier build/)
  })
  it('names changed env variables without printing values', () => {
    const why = explainMiss(step(exec(['PATH=/bin', 'TOKEN=old-secret']), []), step(exec(['PATH=/bin', 'TOKEN=new-secret']), []))
    assert.match(why, /definition changed \(env TOKEN\)/)
    assert.doesNotMatch(why, /secret/)
  })
  it('names a changed command', () => {
    assert.match(explainMiss(step(exec([], ['/bin/sh', '-c', 'make']), []), step(exec([], ['/bin/sh', '-c', 'make all']), [])), /args\[2\]/)
  })
  it('names changed files and changed inputs', () => {
    const a = sha256('a')
    const b = sha256('b')
    assert.match(explainMiss(step(exec([]), [{ content: a }]), step(exec([]), [{ content: b }])), /files it reads from \[build 2\/4\] COPY src\/ \.\/ changed/)
    assert.match(explainMiss(step(exec([]), [{ input: a }]), step(exec([]), [{ input: b }])), /its input changed: \[build 2\/4\]/)
  })
  it('says when the key is unchanged', () => {
    const s = step(exec([]), [{ input: sha256('x') }])
    assert.match(explainMiss(s, s), /key is unchanged/)
  })
})

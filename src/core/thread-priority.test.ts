import assert from 'node:assert/strict'
import { execFileSync } from 'node:child_process'
import { describe, it } from 'node:test'
import { threadId } from './thread-priority.ts'

const isRoot = process.getuid?.() === 0
const MODULE = new URL('./thread-priority.ts', import.meta.url).href

/**
 * Runs `body` on the main thread of a node of its own (so this runner's threads keep their
 * priority), with the module's exports, `nice()` (this thread's value) and `niceOf(tid)` (any
 * thread's, field 19 of /proc/self/task/<tid>/stat) in scope; returns the `out` it fills. As root,
 * `withoutCapSysNice` runs it through util-linux's setpriv without that capability, as any other user.
 */
function inChild(body: string, o: { withoutCapSysNice?: boolean } = {}): unknown {
  const script = `
    import { readFileSync } from 'node:fs'
    import { PriorityBoost, setThreadNice, threadNice } from ${JSON.stringify(MODULE)}
    const nice = () => threadNice()
    const niceOf = (tid) => Number(readFileSync('/proc/self/task/' + tid + '/stat', 'utf8').split(') ')[1].split(' ')[16])
    const out = []
    ${body}
    console.log(JSON.stringify(out))
    process.exit(0)`
  const node = [process.execPath, '--import', 'tsx', '--input-type=module', '-e', script]
  const argv = o.withoutCapSysNice && isRoot ? ['setpriv', '--inh-caps=-sys_nice', '--bounding-set=-sys_nice', ...node] : node
  return JSON.parse(execFileSync(argv[0] as string, argv.slice(1), { encoding: 'utf8' }))
}

/** setThreadNice(nice) on the main thread, with a worker thread started before it: what it returned and both threads' values. */
function tryNice(nice: number, o: { withoutCapSysNice?: boolean } = {}): unknown {
  return inChild(
    `
    const { Worker } = await import('node:worker_threads')
    const w = new Worker("import { parentPort } from 'node:worker_threads'; import { readlinkSync } from 'node:fs'; parentPort.postMessage(Number(readlinkSync('/proc/thread-self').split('/').pop())); setTimeout(() => {}, 60000)", { eval: true })
    const tid = await new Promise((resolve) => w.once('message', resolve))
    const took = setThreadNice(${nice})
    out.push({ took, main: niceOf(process.pid), worker: niceOf(tid) })`,
    o,
  )
}

describe('thread priority', () => {
  it('knows the calling thread: the main thread is the process', () => {
    assert.equal(threadId(), process.pid)
  })

  it('lowers the priority of the calling thread only', () => {
    assert.deepEqual(tryNice(3), [{ took: true, main: 3, worker: 0 }])
  })

  it('raises it as root, and says so', { skip: !isRoot && 'raising a priority needs root (CAP_SYS_NICE)' }, () => {
    assert.deepEqual(tryNice(-3), [{ took: true, main: -3, worker: 0 }])
  })

  it('says false where it may not raise it (no CAP_SYS_NICE), and changes nothing', () => {
    assert.deepEqual(tryNice(-3, { withoutCapSysNice: true }), [{ took: false, main: 0, worker: 0 }])
  })

  it('a boost holds from raise to lower, then puts back the value the thread had', { skip: !isRoot && 'raising a priority needs root' }, () => {
    const seen = inChild(`
      const b = new PriorityBoost(-4)
      out.push(nice(), b.active); b.raise(); out.push(nice(), b.active); b.raise(); out.push(nice()); b.lower(); out.push(nice(), b.active); b.lower(); out.push(nice())`)
    assert.deepEqual(seen, [0, false, -4, true, -4, 0, false, 0])
  })

  it('a boost leaves a thread alone that a user started under nice', () => {
    const seen = inChild(`
      setThreadNice(5)
      const b = new PriorityBoost(-4)
      b.raise(); out.push(nice(), b.active); b.lower(); out.push(nice(), b.active)`)
    assert.deepEqual(seen, [5, true, 5, false])
  })
})

import assert from 'node:assert/strict'
import { execFileSync } from 'node:child_process'
import { describe, it } from 'node:test'
import { threadId } from './thread-priority.ts'

const isRoot = process.getuid?.() === 0
const MODULE = new URL('./thread-priority.ts', import.meta.url).href

/**
 * Runs setThreadNice(nice) on the main thread of a node of its own (so this runner's threads keep
 * their priority), with a worker thread started before it; reports what it returned and the nice
 * value of both threads as the kernel has them (field 19 of /proc/<pid>/task/<tid>/stat).
 */
function tryNice(nice: number, o: { withoutCapSysNice?: boolean } = {}): { took: boolean; main: number; worker: number } {
  const script = `
    import { readFileSync } from 'node:fs'
    import { Worker } from 'node:worker_threads'
    import { setThreadNice } from ${JSON.stringify(MODULE)}
    const niceOf = (tid) => Number(readFileSync('/proc/self/task/' + tid + '/stat', 'utf8').split(') ')[1].split(' ')[16])
    const w = new Worker("import { parentPort } from 'node:worker_threads'; import { readlinkSync } from 'node:fs'; parentPort.postMessage(Number(readlinkSync('/proc/thread-self').split('/').pop())); setTimeout(() => {}, 60000)", { eval: true })
    const tid = await new Promise((resolve) => w.once('message', resolve))
    const took = setThreadNice(${nice})
    console.log(JSON.stringify({ took, main: niceOf(process.pid), worker: niceOf(tid) }))
    process.exit(0)`
  const node = [process.execPath, '--import', 'tsx', '--input-type=module', '-e', script]
  // as root, util-linux's setpriv drops the capability for the child: what any other user has
  const argv = o.withoutCapSysNice && isRoot ? ['setpriv', '--inh-caps=-sys_nice', '--bounding-set=-sys_nice', ...node] : node
  const out = execFileSync(argv[0] as string, argv.slice(1), { encoding: 'utf8' })
  return JSON.parse(out)
}

/** Runs `body` (with PriorityBoost, setThreadNice and nice() in scope) on the main thread of a node of its own; returns what it logs. */
function inChild(body: string): unknown {
  const script = `
    import { PriorityBoost, setThreadNice, threadNice } from ${JSON.stringify(MODULE)}
    const nice = () => threadNice()
    const out = []
    ${body}
    console.log(JSON.stringify(out))`
  return JSON.parse(execFileSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { encoding: 'utf8' }))
}

describe('thread priority', () => {
  it('knows the calling thread: the main thread is the process', () => {
    assert.equal(threadId(), process.pid)
  })

  it('lowers the priority of the calling thread only', () => {
    assert.deepEqual(tryNice(3), { took: true, main: 3, worker: 0 })
  })

  it('raises it as root, and says so', { skip: !isRoot && 'raising a priority needs root (CAP_SYS_NICE)' }, () => {
    assert.deepEqual(tryNice(-3), { took: true, main: -3, worker: 0 })
  })

  it('says false where it may not raise it (no CAP_SYS_NICE), and changes nothing', () => {
    assert.deepEqual(tryNice(-3, { withoutCapSysNice: true }), { took: false, main: 0, worker: 0 })
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

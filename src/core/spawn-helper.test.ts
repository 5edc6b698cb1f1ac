import assert from 'node:assert/strict'
import { spawnSync } from 'node:child_process'
import { existsSync, writeFileSync } from 'node:fs'
import { mkdir, mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, describe, it } from 'node:test'
import { fileURLToPath } from 'node:url'
import { execFile } from './exec-file.ts'
import { SpawnHelper, shellQuote } from './spawn-helper.ts'

describe('shellQuote', () => {
  it('makes one word that the shell does not expand', () => {
    for (const s of ["it's", '$HOME', '`id`', '"q"', 'a b', '*', '\\', "''", '']) {
      const r = spawnSync('/bin/sh', ['-c', `printf %s ${shellQuote(s)}`], { encoding: 'utf8' })
      assert.equal(r.stdout, s)
    }
  })
})

describe('SpawnHelper', () => {
  let h: SpawnHelper
  let dir: string
  before(async () => {
    h = new SpawnHelper()
    dir = await mkdtemp(join(tmpdir(), 'cairn-spawn-test-'))
  })
  after(async () => {
    h.close()
    await rm(dir, { recursive: true, force: true })
  })

  it('runs a program with its arguments as given (quotes, $, spaces, empty), giving back its status, stdout and stderr', async () => {
    const args = ['-c', 'printf "%s|" "$@"; echo err >&2; exit 3', 'sh', "it's", '$HOME', 'a  b', '', '`id`']
    const r = await h.run('sh', args)
    assert.equal(r.code, 3)
    assert.equal(r.stdout.toString(), "it's|$HOME|a  b||`id`|")
    assert.equal(r.stderr.toString(), 'err\n')
  })

  it('runs in `cwd`, with stdin empty; a `cwd` that is not there is status 126', async () => {
    const cwd = join(dir, 'cwd')
    await mkdir(cwd)
    await writeFile(join(cwd, 'here'), 'x')
    const r = await h.run('sh', ['-c', 'ls; cat'], { cwd })
    assert.equal(r.code, 0)
    assert.equal(r.stdout.toString(), 'here\n')
    const bad = await h.run('true', [], { cwd: join(dir, 'missing') })
    assert.equal(bad.code, 126)
  })

  it('keeps concurrent requests apart', async () => {
    const rs = await Promise.all(Array.from({ length: 30 }, (_, i) => h.run('sh', ['-c', `sleep 0.0${i % 10}; echo ${i}; echo e${i} >&2; exit ${i % 7}`])))
    rs.forEach((r, i) => {
      assert.equal(r.stdout.toString(), `${i}\n`)
      assert.equal(r.stderr.toString(), `e${i}\n`)
      assert.equal(r.code, i % 7)
    })
  })

  it('kills the program when the signal aborts, and rejects with the reason', async () => {
    const ac = new AbortController()
    const marker = join(dir, 'pid')
    const p = h.run('sh', ['-c', `echo $$ > ${shellQuote(marker)}; exec sleep 30`], { signal: ac.signal })
    for (let i = 0; i < 400 && !existsSync(marker); i++) await new Promise((r) => setTimeout(r, 5))
    const pid = Number((await readFile(marker, 'utf8')).trim())
    ac.abort(new Error('stop'))
    await assert.rejects(p, /stop/)
    let gone = false
    for (let i = 0; i < 400 && !gone; i++) {
      try {
        process.kill(pid, 0)
        await new Promise((r) => setTimeout(r, 5))
      } catch {
        gone = true
      }
    }
    assert.ok(gone, 'the program was killed')
  })

  it('starts a detached program that outlives the request', async () => {
    const file = join(dir, 'detached')
    h.detach('sh', ['-c', `sleep 0.05; echo done > ${shellQuote(file)}`])
    for (let i = 0; i < 400 && !existsSync(file); i++) await new Promise((r) => setTimeout(r, 5))
    assert.equal(await readFile(file, 'utf8'), 'done\n')
  })

  it('does not take a request with a newline in it (the caller spawns that one itself)', () => {
    assert.equal(h.accepts('echo', ['a\nb']), false)
    assert.equal(h.accepts('echo', ['a b']), true)
    assert.equal(h.accepts('true', [], '/tmp\n'), false)
  })

  it('reuses its output files: running one request after another makes no new ones', async () => {
    await h.run('true', [])
    const before = (await readdir(h.directory)).length
    for (let i = 0; i < 10; i++) assert.equal((await h.run('sh', ['-c', `echo ${i}`])).stdout.toString(), `${i}\n`)
    assert.equal((await readdir(h.directory)).length, before)
  })
})

describe('SpawnHelper when cairn dies', () => {
  it('removes its directory once the process that started it is gone, even killed', async () => {
    const self = fileURLToPath(new URL('./spawn-helper.ts', import.meta.url))
    const code = `import(${JSON.stringify(self)}).then(async (m) => { const h = new m.SpawnHelper(); await h.run('true', []); console.log(h.directory); process.kill(process.pid, 'SIGKILL') })`
    const r = spawnSync(process.execPath, ['--import', 'tsx', '-e', code], { encoding: 'utf8', timeout: 20_000 })
    const dir = r.stdout.trim()
    assert.match(dir, /cairn-spawn-/)
    for (let i = 0; i < 400 && existsSync(dir); i++) await new Promise((res) => setTimeout(res, 5))
    assert.ok(!existsSync(dir), `${dir} is removed`)
  })
})

describe('execFile', () => {
  it('returns stdout, and fails with the exit status and stderr, or names a missing program', async () => {
    assert.equal(await execFile('sh', ['-c', 'echo out']), 'out\n')
    await assert.rejects(execFile('sh', ['-c', 'echo bad >&2; exit 4']), { code: 'ERR_HELPER_FAILED', message: /exit 4: bad/ })
    await assert.rejects(execFile('cairn-no-such-program', []), { code: 'ERR_MISSING_PROGRAM' })
    // a newline in an argument: spawned directly, same result
    assert.equal(await execFile('printf', ['%s', 'a\nb']), 'a\nb')
  })

  it('does not keep the process alive once its programs are done', () => {
    const self = fileURLToPath(new URL('./exec-file.ts', import.meta.url))
    const code = `import(${JSON.stringify(self)}).then(async (m) => { await m.execFile('true', []); console.log('ran') })`
    const r = spawnSync(process.execPath, ['--import', 'tsx', '-e', code], { encoding: 'utf8', timeout: 20_000 })
    assert.equal(r.status, 0, r.stderr)
    assert.equal(r.stdout, 'ran\n')
  })
})

describe('SpawnHelper.stream', () => {
  /** A helper of the test's own, closed after it. */
  const withHelper = (fn: (h: SpawnHelper) => Promise<void>) => async () => {
    const h = new SpawnHelper()
    try {
      await fn(h)
    } finally {
      h.close()
    }
  }

  it(
    'hands stdout and stderr over as they come, and the status once both are drained',
    withHelper(async (h) => {
      const got: { n: 1 | 2; s: string; at: number }[] = []
      const t0 = Date.now()
      const code = await h.stream('sh', ['-c', 'echo one; echo two >&2; sleep 0.3; echo "three $0"; exit 5', "it's"], (n, c) =>
        got.push({ n, s: c.toString(), at: Date.now() - t0 }),
      )
      const text = (n: 1 | 2) =>
        got
          .filter((g) => g.n === n)
          .map((g) => g.s)
          .join('')
      assert.equal(code, 5)
      assert.equal(text(1), "one\nthree it's\n")
      assert.equal(text(2), 'two\n')
      // the first line arrived while the program was still running, not at its end
      const first = got.find((g) => g.s.startsWith('one')) as { at: number }
      const last = got.find((g) => g.s.includes('three')) as { at: number }
      assert.ok(first.at < last.at, `"one" at ${first.at} ms, "three" at ${last.at} ms`)
      await h.stream('true', [], () => undefined)
      assert.deepEqual((await readdir(h.directory)).sort(), ['0.fe', '0.fo'], 'one pair of FIFOs, reused')
    }),
  )

  it(
    "holds none of libuv's pool threads while a program runs (an fs call goes on meanwhile)",
    withHelper(async (h) => {
      const gate = join(await mkdtemp(join(tmpdir(), 'cairn-gate-')), 'open')
      try {
        // three programs that run until the gate file exists: six FIFOs, more than the pool's four
        // threads if each held one in a blocking read
        const wait = ['-c', 'while [ ! -e "$1" ]; do sleep 0.01; done', 'sh', gate]
        const running = [0, 1, 2].map(() => h.stream('sh', wait, () => undefined))
        await new Promise((r) => setTimeout(r, 100))
        const first = await Promise.race([stat(tmpdir()).then(() => 'stat'), new Promise((r) => setTimeout(r, 3000, 'no fs call for 3 s'))])
        writeFileSync(gate, '') // not through the pool: it may be the thing under test
        assert.deepEqual(await Promise.all(running), [0, 0, 0])
        assert.equal(first, 'stat')
      } finally {
        writeFileSync(gate, '')
        await rm(join(gate, '..'), { recursive: true, force: true })
      }
    }),
  )

  it(
    'reports 127 for a program that is not there',
    withHelper(async (h) => {
      let err = ''
      assert.equal(await h.stream('cairn-no-such-program', [], (n, c) => n === 2 && (err += c.toString())), 127)
      assert.match(err, /not found/)
    }),
  )
})

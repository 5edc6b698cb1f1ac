/**
 * Starts the programs cairn runs (mount, umount, cp, runc, the closing sync) through one small
 * shell started on first use, instead of from node itself. Node starts a child with fork(), which
 * copies the page tables of the whole process while the event loop waits: measured here 3.2 ms
 * per spawn at 51 MB of RSS, 9.3 ms at 115 MB and 15.2 ms at 209 MB, and a W1 build blocked 85 ms
 * in 15 spawns (147 ms with a mode=max cache export, whose packing buffers make the process
 * bigger). The shell is a few hundred KiB, so its forks cost little whatever node's size: a
 * program takes 1.7 ms from request to result at 78 MB (2.7 ms spawned by node) and 2.0 ms at
 * 143 MB (8.2 ms).
 *
 * Protocol: node writes one line of shell code per request to the shell's stdin (every argument
 * single-quoted, so nothing in it is expanded); the shell evals it. A request runs its program in
 * the background and reports on fd 3 (the shell's stdout pipe): `<id> p <pid>` when started and
 * `<id> x <status> <o> <e>` when it has exited (`o`, `e`: 1 if it wrote to stdout, stderr). Its
 * stdout and stderr go to a pair of files (`run`: read when not empty) or FIFOs (`stream`: read
 * as they come, after `<id> f` says they exist), in numbered slots of a private directory that
 * later requests reuse. Lines under PIPE_BUF are written atomically, so concurrent requests never
 * interleave.
 */
import { type ChildProcess, spawn } from 'node:child_process'
import { accessSync, constants, existsSync, mkdtempSync, openSync, rmSync } from 'node:fs'
import { readFile } from 'node:fs/promises'
import { Socket } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { CairnError, throwIfAborted } from './errors.ts'

export interface HelperResult {
  /** The exit status: 0-125 from the program, 126 when `cwd` is not usable, 127 when the program is not found, 128+N when killed by signal N. */
  code: number
  stdout: Buffer
  stderr: Buffer
}

/** A request in flight, as the status lines drive it. */
interface Pending {
  /** Its output FIFOs exist (streamed requests). */
  fifos?(): void
  /** Its program exited with this status; `sizes` says whether it wrote to its stdout and stderr files. */
  exited(code: number, sizes: [boolean, boolean]): void
  /** The shell died before the program's status came. */
  fail(e: unknown): void
  /** The caller gave up (aborted) or the shell died; the status is then awaited only to clean up. */
  settled: boolean
  pid?: number
}

const SH = '/bin/sh'
// fd 3 carries the status lines; the shell's own stdout and stderr go nowhere (a request's output goes to its
// files). At the end of its input (cairn closed it, or died) the shell removes its directory ($1).
const SCRIPT = 'exec 3>&1 >/dev/null 2>&1; while IFS= read -r l; do eval "$l"; done; rm -rf "$1"'

/** A string as one single-quoted shell word: nothing inside is expanded. */
export function shellQuote(s: string): string {
  return `'${s.replace(/'/g, `'\\''`)}'`
}

/** A program and its arguments as shell words. */
const words = (cmd: string, args: readonly string[]): string => [cmd, ...args].map(shellQuote).join(' ')

/**
 * The tail of a request: report the program's pid, wait for it, report its status and whether its
 * output files are non-empty (`[ -s ]` is a builtin: no fork).
 */
const waitFor = (id: number, out: string, err: string): string =>
  `p=$!; echo "${id} p $p" >&3; wait "$p"; s=$?; o=0; e=0; [ -s ${out} ] && o=1; [ -s ${err} ] && e=1; echo "${id} x $s $o $e" >&3;`

const EMPTY = Buffer.alloc(0)

/** Numbered slots (output files, FIFOs): a free one is reused before a new one is made. */
class Slots {
  readonly #free: number[] = []
  #made = 0
  take(): number {
    return this.#free.pop() ?? this.#made++
  }
  give(n: number): void {
    this.#free.push(n)
  }
}

/** Whether a request can be written as one line (no newline or NUL in any word). */
function oneLine(words: readonly string[]): boolean {
  return words.every((w) => !w.includes('\n') && !w.includes('\0'))
}

export class SpawnHelper {
  readonly #child: ChildProcess
  readonly #dir: string
  readonly #pending = new Map<number, Pending>()
  readonly #files = new Slots()
  readonly #fifos = new Slots()
  #next = 0
  #buf = ''
  #dead: Error | undefined

  constructor() {
    this.#dir = mkdtempSync(join(tmpdir(), 'cairn-spawn-'))
    // its own session, as node's detached children: a Ctrl-C for cairn's process group reaches neither
    // the shell nor its programs; cairn stops them itself (SIGTERM on abort, and the clean-up it runs)
    const child = spawn(SH, ['-c', SCRIPT, 'sh', this.#dir], { stdio: ['pipe', 'pipe', 'ignore'], detached: true })
    this.#child = child
    child.stdout?.setEncoding('latin1')
    child.stdout?.on('data', (s: string) => this.#onData(s))
    child.stdin?.on('error', () => undefined) // a dead shell is reported by 'exit'
    const die = (err: Error) => {
      if (this.#dead) return
      this.#dead = err
      for (const p of this.#pending.values()) p.fail(err)
      this.#pending.clear()
      rmSync(this.#dir, { recursive: true, force: true })
    }
    child.on('error', die)
    child.on('exit', (code, sig) => die(new CairnError('ERR_SPAWN_HELPER', `the helper shell exited (${sig ?? `exit ${code}`})`)))
    this.#idle()
  }

  /** Where the programs' output files and FIFOs are. */
  get directory(): string {
    return this.#dir
  }

  /** False once the shell is gone: callers then start programs themselves. */
  get alive(): boolean {
    return this.#dead === undefined
  }

  /** Whether `run` or `stream` can take this request (else the caller spawns it itself). */
  accepts(cmd: string, args: readonly string[], cwd?: string): boolean {
    return this.alive && oneLine([cmd, ...args, ...(cwd === undefined ? [] : [cwd])])
  }

  /** Runs `cmd args` with stdin from /dev/null; resolves with its status and output (rejects only when aborted or the shell died). */
  run(cmd: string, args: readonly string[], o: { cwd?: string; signal?: AbortSignal } = {}): Promise<HelperResult> {
    const { signal } = o
    throwIfAborted(signal)
    if (this.#dead) return Promise.reject(this.#dead)
    const id = this.#next++
    const slot = this.#files.take()
    const out = join(this.#dir, `${slot}.o`)
    const err = join(this.#dir, `${slot}.e`)
    const cd = o.cwd === undefined ? '' : `cd ${shellQuote(o.cwd)} || exit 126; `
    return new Promise<HelperResult>((resolve, reject) => {
      const p: Pending = {
        settled: false,
        fail: (e) => finish(() => reject(e)),
        exited: (code, sizes) => {
          void (async () => {
            // the files are read only when the program wrote something, and reused by a later request
            const read = (path: string, has: boolean) => (has ? readFile(path) : Promise.resolve(EMPTY))
            const got = p.settled ? undefined : await Promise.all([read(out, sizes[0]), read(err, sizes[1])]).catch((e: unknown) => ({ failed: e }))
            this.#files.give(slot)
            if (got === undefined) return
            if ('failed' in got) finish(() => reject(got.failed))
            else finish(() => resolve({ code, stdout: got[0], stderr: got[1] }))
          })()
        },
      }
      const finish = (settle: () => void) => {
        signal?.removeEventListener('abort', onAbort)
        if (p.settled) return
        p.settled = true
        settle()
      }
      const onAbort = () =>
        finish(() => {
          if (p.pid !== undefined) kill(p.pid)
          reject(signal?.reason ?? new CairnError('ERR_ABORTED', 'operation aborted'))
        })
      signal?.addEventListener('abort', onAbort, { once: true })
      const [o1, e1] = [shellQuote(out), shellQuote(err)]
      this.#send(id, p, `{ ( ${cd}exec ${words(cmd, args)} ) </dev/null >${o1} 2>${e1} 3>&- & ${waitFor(id, o1, e1)} } &\n`)
    })
  }

  /**
   * Runs `cmd args` with stdin from /dev/null and its stdout and stderr handed to `output` as they
   * come (through two FIFOs); resolves with its status once both are drained.
   */
  stream(cmd: string, args: readonly string[], output: (stream: 1 | 2, chunk: Buffer) => void): Promise<number> {
    if (this.#dead) return Promise.reject(this.#dead)
    const id = this.#next++
    const slot = this.#fifos.take()
    const out = join(this.#dir, `${slot}.fo`)
    const err = join(this.#dir, `${slot}.fe`)
    return new Promise<number>((resolve, reject) => {
      let code: number | undefined
      let open = 0
      let failure: unknown
      let started = false
      const done = () => {
        if (code === undefined || open > 0 || p.settled) return
        p.settled = true
        this.#fifos.give(slot)
        if (failure !== undefined) reject(failure)
        else resolve(code)
      }
      const p: Pending = {
        settled: false,
        fail: (e) => {
          if (p.settled) return
          p.settled = true
          reject(e)
        },
        fifos: () => {
          started = true
          for (const [path, n] of [
            [out, 1],
            [err, 2],
          ] as const) {
            open++
            // Read as a non-blocking pipe (epoll), not an fs stream: that one would hold a libuv pool
            // thread in a blocking read() for as long as the program runs, two per RUN step, leaving
            // the pool's other threads to the layer compression and every fs call of the build. No
            // end is seen before the program's shell has opened the FIFO and closed it again.
            const rs = new Socket({ fd: openSync(path, constants.O_RDONLY | constants.O_NONBLOCK), readable: true, writable: false })
            rs.on('data', (c) => output(n, c as Buffer))
            rs.on('error', (e) => {
              failure ??= e
            })
            rs.on('close', () => {
              open--
              done()
            })
          }
        },
        exited: (c) => {
          if (!started) failure ??= new CairnError('ERR_SPAWN_HELPER', `cannot make the FIFOs for ${cmd} in ${this.#dir}`)
          code = c
          done()
        },
      }
      const [o1, e1] = [shellQuote(out), shellQuote(err)]
      // a slot's FIFOs are made once and reused (`[ -p ]` is a shell builtin, mkfifo is not)
      const start = `{ [ -p ${o1} ] && [ -p ${e1} ]; } || mkfifo ${o1} ${e1} || { echo "${id} x 125 0 0" >&3; exit; }; echo "${id} f" >&3; `
      this.#send(id, p, `{ ${start}( exec ${words(cmd, args)} ) </dev/null >${o1} 2>${e1} 3>&- & ${waitFor(id, o1, e1)} } &\n`)
    })
  }

  #send(id: number, p: Pending, line: string): void {
    this.#pending.set(id, p)
    this.#busy()
    this.#child.stdin?.write(line)
  }

  /** Starts `cmd args` and forgets it (stdio to /dev/null); it outlives this process. */
  detach(cmd: string, args: readonly string[]): void {
    this.#child.stdin?.write(`${words(cmd, args)} </dev/null >/dev/null 2>&1 3>&- &\n`)
  }

  #onData(s: string): void {
    this.#buf += s
    let nl = this.#buf.indexOf('\n')
    while (nl >= 0) {
      const [idText, kind, value, hasOut, hasErr] = this.#buf.slice(0, nl).split(' ')
      this.#buf = this.#buf.slice(nl + 1)
      nl = this.#buf.indexOf('\n')
      const id = Number(idText)
      const p = this.#pending.get(id)
      if (!p) continue
      if (kind === 'f') p.fifos?.()
      else if (kind === 'p') {
        p.pid = Number(value)
        if (p.settled) kill(p.pid) // aborted before it started
      } else {
        this.#pending.delete(id)
        if (this.#pending.size === 0) this.#idle()
        p.exited(Number(value), [hasOut === '1', hasErr === '1'])
      }
    }
  }

  /** Nothing in flight: the shell must not keep the process alive. */
  #idle(): void {
    this.#child.unref()
    ;(this.#child.stdin as Socket | null)?.unref?.()
    ;(this.#child.stdout as Socket | null)?.unref?.()
  }

  #busy(): void {
    this.#child.ref()
    ;(this.#child.stdin as Socket | null)?.ref?.()
    ;(this.#child.stdout as Socket | null)?.ref?.()
  }

  /** Ends the shell (programs it started go on) and removes its directory. */
  close(): void {
    this.#child.stdin?.end()
    rmSync(this.#dir, { recursive: true, force: true })
  }
}

function kill(pid: number): void {
  try {
    process.kill(pid, 'SIGTERM')
  } catch {
    // already gone
  }
}

let shared: SpawnHelper | undefined
let unavailable = false

/** The process's helper shell, started on first use (again if it died); undefined where there is no /bin/sh. */
export function spawnHelper(): SpawnHelper | undefined {
  if (shared?.alive) return shared
  if (unavailable) return undefined
  if (process.platform !== 'linux' || !existsSync(SH)) {
    unavailable = true
    return undefined
  }
  shared = new SpawnHelper()
  process.once('exit', () => shared?.close())
  return shared
}

/** Whether `cmd` names an executable file, itself (with a slash) or in a PATH directory. */
export function onPath(cmd: string): boolean {
  const runnable = (p: string) => {
    try {
      accessSync(p, constants.X_OK)
      return true
    } catch {
      return false
    }
  }
  if (cmd.includes('/')) return runnable(cmd)
  return (process.env.PATH ?? '').split(':').some((dir) => dir !== '' && runnable(join(dir, cmd)))
}

/**
 * Starts short-lived programs (mount, umount, cp, sync) through one small shell started on first
 * use, instead of from node itself. Node starts a child with fork(), which copies the page tables
 * of the whole process while the event loop waits: measured here 3.2 ms per spawn at 51 MB of
 * RSS, 9.3 ms at 115 MB and 15.2 ms at 209 MB, and a W1 build blocked 85 ms in 15 spawns (147 ms
 * with a mode=max cache export, whose packing buffers make the process bigger). The shell is
 * a few hundred KiB, so its forks cost a fraction of a millisecond whatever node's size.
 *
 * Protocol: node writes one line of shell code per request to the shell's stdin (every argument
 * single-quoted, so nothing in it is expanded); the shell evals it. A request runs its program in
 * the background with stdout and stderr in files of a private directory and reports on fd 3
 * (the shell's stdout pipe) `<id> p <pid>` when started and `<id> x <status>` when it has exited.
 * Lines under PIPE_BUF are written atomically, so concurrent requests never interleave.
 */
import { type ChildProcess, spawn } from 'node:child_process'
import { existsSync, mkdtempSync, rmSync } from 'node:fs'
import { readFile, rm } from 'node:fs/promises'
import type { Socket } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { CairnError, throwIfAborted } from './errors.ts'

export interface HelperResult {
  /** The exit status: 0-125 from the program, 126 when `cwd` is not usable, 127 when the program is not found, 128+N when killed by signal N. */
  code: number
  stdout: Buffer
  stderr: Buffer
}

interface Pending {
  resolve(r: HelperResult): void
  reject(e: unknown): void
  pid?: number
  /** Set when the caller gave up (aborted): the exit is awaited only to remove the output files. */
  settled: boolean
}

const SH = '/bin/sh'
// fd 3 carries the status lines; the shell's own stdout and stderr go nowhere (a request's output goes to its files)
const SCRIPT = 'exec 3>&1 >/dev/null 2>&1; while IFS= read -r l; do eval "$l"; done'

/** A string as one single-quoted shell word: nothing inside is expanded. */
export function shellQuote(s: string): string {
  return `'${s.replace(/'/g, `'\\''`)}'`
}

/** Whether a request can be written as one line (no newline or NUL in any word). */
function oneLine(words: readonly string[]): boolean {
  return words.every((w) => !w.includes('\n') && !w.includes('\0'))
}

export class SpawnHelper {
  readonly #child: ChildProcess
  readonly #dir: string
  readonly #pending = new Map<number, Pending>()
  #next = 0
  #buf = ''
  #dead: Error | undefined

  constructor() {
    this.#dir = mkdtempSync(join(tmpdir(), 'cairn-spawn-'))
    // its own session, as node's detached children: a Ctrl-C for cairn's process group reaches neither
    // the shell nor its programs; cairn stops them itself (SIGTERM on abort, and the clean-up it runs)
    const child = spawn(SH, ['-c', SCRIPT], { stdio: ['pipe', 'pipe', 'ignore'], detached: true })
    this.#child = child
    child.stdout?.setEncoding('latin1')
    child.stdout?.on('data', (s: string) => this.#onData(s))
    child.stdin?.on('error', () => undefined) // a dead shell is reported by 'exit'
    const die = (err: Error) => {
      if (this.#dead) return
      this.#dead = err
      for (const p of this.#pending.values()) if (!p.settled) p.reject(err)
      this.#pending.clear()
      rmSync(this.#dir, { recursive: true, force: true })
    }
    child.on('error', die)
    child.on('exit', (code, sig) => die(new CairnError('ERR_SPAWN_HELPER', `the helper shell exited (${sig ?? `exit ${code}`})`)))
    this.#idle()
  }

  /** Where the programs' output files are, while they run. */
  get directory(): string {
    return this.#dir
  }

  /** False once the shell is gone: callers then start programs themselves. */
  get alive(): boolean {
    return this.#dead === undefined
  }

  /** Whether `run` can take this request (else the caller spawns it itself). */
  accepts(cmd: string, args: readonly string[], cwd?: string): boolean {
    return this.alive && oneLine([cmd, ...args, ...(cwd === undefined ? [] : [cwd])])
  }

  /** Runs `cmd args` with stdin from /dev/null; resolves with its status and output (rejects only when aborted or the shell died). */
  run(cmd: string, args: readonly string[], o: { cwd?: string; signal?: AbortSignal } = {}): Promise<HelperResult> {
    const { signal } = o
    throwIfAborted(signal)
    if (this.#dead) return Promise.reject(this.#dead)
    const id = this.#next++
    const out = join(this.#dir, `${id}.o`)
    const err = join(this.#dir, `${id}.e`)
    const cd = o.cwd === undefined ? '' : `cd ${shellQuote(o.cwd)} || exit 126; `
    const line =
      `{ ( ${cd}exec ${[cmd, ...args].map(shellQuote).join(' ')} ) </dev/null >${shellQuote(out)} 2>${shellQuote(err)} 3>&- & ` +
      `p=$!; echo "${id} p $p" >&3; wait "$p"; echo "${id} x $?" >&3; } &\n`
    return new Promise<HelperResult>((resolve, reject) => {
      const p: Pending = { resolve, reject, settled: false }
      const onAbort = () => {
        if (p.settled) return
        p.settled = true
        if (p.pid !== undefined) kill(p.pid)
        reject(signal?.reason ?? new CairnError('ERR_ABORTED', 'operation aborted'))
      }
      p.resolve = (r) => {
        signal?.removeEventListener('abort', onAbort)
        if (!p.settled) {
          p.settled = true
          resolve(r)
        }
      }
      p.reject = (e) => {
        signal?.removeEventListener('abort', onAbort)
        if (!p.settled) {
          p.settled = true
          reject(e)
        }
      }
      signal?.addEventListener('abort', onAbort, { once: true })
      this.#pending.set(id, p)
      this.#busy()
      this.#child.stdin?.write(line)
    })
  }

  /** Starts `cmd args` and forgets it (stdio to /dev/null); it outlives this process. */
  detach(cmd: string, args: readonly string[]): void {
    this.#child.stdin?.write(`${[cmd, ...args].map(shellQuote).join(' ')} </dev/null >/dev/null 2>&1 3>&- &\n`)
  }

  #onData(s: string): void {
    this.#buf += s
    let nl = this.#buf.indexOf('\n')
    while (nl >= 0) {
      const [idText, kind, value] = this.#buf.slice(0, nl).split(' ')
      this.#buf = this.#buf.slice(nl + 1)
      nl = this.#buf.indexOf('\n')
      const id = Number(idText)
      const p = this.#pending.get(id)
      if (!p) continue
      if (kind === 'p') {
        p.pid = Number(value)
        if (p.settled) kill(p.pid) // aborted before it started
        continue
      }
      this.#pending.delete(id)
      if (this.#pending.size === 0) this.#idle()
      void this.#finish(id, p, Number(value))
    }
  }

  async #finish(id: number, p: Pending, code: number): Promise<void> {
    const out = join(this.#dir, `${id}.o`)
    const err = join(this.#dir, `${id}.e`)
    const files = p.settled ? undefined : await Promise.all([readFile(out), readFile(err)]).catch((e: unknown) => e as Error)
    await Promise.all([rm(out, { force: true }), rm(err, { force: true })])
    if (files instanceof Error) p.reject(files)
    else if (files) p.resolve({ code, stdout: files[0], stderr: files[1] })
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

/** The process's helper shell, started on first use; undefined where there is no /bin/sh or CAIRN_SPAWN_HELPER=0. */
export function spawnHelper(): SpawnHelper | undefined {
  if (shared?.alive) return shared
  if (unavailable) return undefined
  if (process.env.CAIRN_SPAWN_HELPER === '0' || process.platform !== 'linux' || !existsSync(SH)) {
    unavailable = true
    return undefined
  }
  shared = new SpawnHelper()
  process.once('exit', () => shared?.close())
  return shared
}

/**
 * The scheduling priority of the calling thread alone. Linux keeps a nice value per thread, and
 * setpriority(PRIO_PROCESS, tid) changes just that thread; node's os.setPriority passes the id
 * through, and a thread learns its own id from /proc/thread-self.
 */
import { readlinkSync } from 'node:fs'
import { getPriority, setPriority } from 'node:os'

/** The calling thread's kernel id, or undefined where /proc does not say. */
export function threadId(): number | undefined {
  try {
    const tid = Number(readlinkSync('/proc/thread-self').split('/').pop())
    return Number.isInteger(tid) && tid > 0 ? tid : undefined
  } catch {
    return undefined
  }
}

/**
 * Sets the calling thread's nice value; true if it took. A raise (a negative value) needs root or
 * CAP_SYS_NICE: without it, or without /proc, the thread keeps its priority and this says false.
 * Threads and processes the thread starts afterwards inherit the value.
 */
export function setThreadNice(nice: number): boolean {
  const tid = threadId()
  if (tid === undefined) return false
  try {
    setPriority(tid, nice)
    return true
  } catch {
    return false
  }
}

/** The calling thread's nice value, or undefined where it cannot be read. */
export function threadNice(): number | undefined {
  const tid = threadId()
  if (tid === undefined) return undefined
  try {
    return getPriority(tid)
  } catch {
    return undefined
  }
}

/**
 * A priority raise for the calling thread, held from `raise()` to `lower()`, which puts back the value
 * the thread had. It changes nothing when the thread does not run at the default priority (0): a user
 * who started cairn under `nice` keeps what they asked for. `active` is true from `raise()` to
 * `lower()` whether the kernel allowed the raise or not, so that a refused raise is not tried again.
 */
export class PriorityBoost {
  readonly #nice: number
  readonly #base: number | undefined
  #active = false
  #raised = false

  constructor(nice: number) {
    this.#nice = nice
    this.#base = threadNice()
  }

  get active(): boolean {
    return this.#active
  }

  raise(): void {
    if (this.#active) return
    this.#active = true
    this.#raised = this.#base === 0 && setThreadNice(this.#nice)
  }

  lower(): void {
    if (this.#raised) setThreadNice(this.#base as number)
    this.#active = false
    this.#raised = false
  }
}

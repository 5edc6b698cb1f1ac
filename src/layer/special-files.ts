/**
 * Device nodes, fifos and overlay whiteouts. Node has no mknod(2), so nodes are made by
 * spawning `mknod`/`mkfifo`. Whiteouts (char device 0:0) are the common case and can be
 * many: one template node is made per extraction and every whiteout is a hardlink to it
 * (link(2) is cheap; overlayfs itself shares whiteout inodes the same way).
 */
import { execFile } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { link, unlink } from 'node:fs/promises'
import { promisify } from 'node:util'
import { CairnError } from '../core/errors.ts'

const run = promisify(execFile)

async function spawnTool(cmd: string, args: string[]): Promise<void> {
  try {
    await run(cmd, args, { env: { PATH: '/usr/sbin:/usr/bin:/sbin:/bin' } })
  } catch (err) {
    const stderr = String((err as { stderr?: unknown }).stderr ?? '').trim()
    throw new CairnError('ERR_LAYER_MKNOD', `layer: ${cmd} ${args.join(' ')} failed${stderr === '' ? '' : `: ${stderr}`}`, {
      cause: err,
      hint: 'creating device nodes and overlay whiteouts needs root (CAP_MKNOD)',
    })
  }
}

/** Creates a character/block device node (mode applied later by the caller). */
export async function makeDevice(path: string, kind: 'c' | 'b', major: number, minor: number): Promise<void> {
  await spawnTool('mknod', ['-m', '0600', '--', path, kind, String(major), String(minor)])
}

export async function makeFifo(path: string): Promise<void> {
  await spawnTool('mkfifo', ['-m', '0600', '--', path])
}

/** Makes overlay whiteouts by hardlinking one lazily-created 0:0 template inside `dir`. */
export class WhiteoutMaker {
  readonly #template: string
  #made: Promise<void> | undefined
  constructor(dir: string) {
    this.#template = `${dir}/.cairn-whiteout-${randomBytes(6).toString('hex')}`
  }
  async make(path: string): Promise<void> {
    this.#made ??= makeDevice(this.#template, 'c', 0, 0)
    await this.#made
    await link(this.#template, path)
  }
  /** Removes the template (call once, also after failures). */
  async dispose(): Promise<void> {
    if (this.#made === undefined) return
    await this.#made.catch(() => undefined)
    await unlink(this.#template).catch(() => undefined)
  }
}

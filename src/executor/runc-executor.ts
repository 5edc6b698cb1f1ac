import { spawn } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { mkdir, rm, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { CairnError } from '../core/errors.ts'
import { execFile } from '../core/exec-file.ts'
import { onPath, spawnHelper } from '../core/spawn-helper.ts'
import type { ExecSpec, Executor, ProcessIO } from './executor.ts'
import { buildRuntimeSpec } from './runtime-spec.ts'

export interface RuncExecutorOptions {
  /** Directory for bundles and runc's own state (`--root`). */
  stateDir: string
  runcPath?: string
}

const runcMissing = () => new CairnError('ERR_RUNC_MISSING', 'runc was not found on PATH', { hint: 'install it: apt-get install -y runc' })

/** Runs processes with runc (Debian's), one `runc run` per step. */
export function createRuncExecutor(opts: RuncExecutorOptions): Executor {
  const runc = opts.runcPath ?? 'runc'
  const runcRoot = join(opts.stateDir, 'runc')
  return {
    async run(spec: ExecSpec, io: ProcessIO, signal?: AbortSignal) {
      const id = `cairn-${randomBytes(8).toString('hex')}`
      const bundle = join(opts.stateDir, 'bundles', id)
      await mkdir(bundle, { recursive: true })
      await writeFile(join(bundle, 'config.json'), JSON.stringify(buildRuntimeSpec(spec)))
      try {
        const args = ['--root', runcRoot, 'run', '--bundle', bundle, id]
        // through the spawn helper when there is one (core/spawn-helper.ts: a fork of node costs ms)
        const helper = spawnHelper()
        if (helper?.accepts(runc, args)) {
          const onAbort = () => {
            execFile(runc, ['--root', runcRoot, 'kill', id, 'KILL']).catch(() => undefined)
          }
          signal?.addEventListener('abort', onAbort, { once: true })
          try {
            const code = await helper.stream(runc, args, (n, b) => io.output(n, b))
            if (signal?.aborted) throw signal.reason
            if (code === 127 && !onPath(runc)) throw runcMissing()
            return { exitCode: code }
          } finally {
            signal?.removeEventListener('abort', onAbort)
          }
        }
        return await new Promise<{ exitCode: number }>((resolve, reject) => {
          const child = spawn(runc, args, {
            stdio: ['ignore', 'pipe', 'pipe'],
          })
          const onAbort = () => {
            spawn(runc, ['--root', runcRoot, 'kill', id, 'KILL'], { stdio: 'ignore' })
          }
          signal?.addEventListener('abort', onAbort, { once: true })
          child.stdout?.on('data', (b: Buffer) => io.output(1, b))
          child.stderr?.on('data', (b: Buffer) => io.output(2, b))
          child.on('error', (e: NodeJS.ErrnoException) => {
            signal?.removeEventListener('abort', onAbort)
            reject(e.code === 'ENOENT' ? runcMissing() : e)
          })
          child.on('close', (code, sig) => {
            signal?.removeEventListener('abort', onAbort)
            if (signal?.aborted) reject(signal.reason)
            else resolve({ exitCode: code ?? (sig ? 128 + 9 : 1) })
          })
        })
      } finally {
        await rm(bundle, { recursive: true, force: true })
      }
    },
  }
}

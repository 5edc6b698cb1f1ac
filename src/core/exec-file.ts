import { spawn } from 'node:child_process'
import { CairnError } from './errors.ts'
import { onPath, spawnHelper } from './spawn-helper.ts'

const missing = (cmd: string) => new CairnError('ERR_MISSING_PROGRAM', `${cmd}: program not found`, { hint: `install it (Debian: apt-get install -y ${cmd})` })
const failed = (cmd: string, args: readonly string[], code: number | null, stderr: Buffer) =>
  new CairnError('ERR_HELPER_FAILED', `${cmd} ${args.join(' ')}: exit ${code}: ${stderr.toString().trim()}`)

/**
 * Runs a helper program (mount, umount, mknod...) and rejects with its stderr on failure. Started
 * through the spawn helper (core/spawn-helper.ts) when there is one: a fork of node costs
 * milliseconds that grow with its memory.
 */
export async function execFile(cmd: string, args: readonly string[], opts: { cwd?: string; signal?: AbortSignal } = {}): Promise<string> {
  const helper = spawnHelper()
  if (!helper?.accepts(cmd, args, opts.cwd)) return execDirect(cmd, args, opts)
  const r = await helper.run(cmd, args, opts)
  if (r.code === 0) return r.stdout.toString()
  // the shell's `exec` exits 127 for a program it cannot find (as runc-executor.ts checks it too)
  if (r.code === 127 && !onPath(cmd)) throw missing(cmd)
  throw failed(cmd, args, r.code, r.stderr)
}

/** execFile with node's own spawn. */
function execDirect(cmd: string, args: readonly string[], opts: { cwd?: string; signal?: AbortSignal }): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { cwd: opts.cwd, stdio: ['ignore', 'pipe', 'pipe'], ...(opts.signal ? { signal: opts.signal } : {}) })
    const out: Buffer[] = []
    const err: Buffer[] = []
    child.stdout.on('data', (b: Buffer) => out.push(b))
    child.stderr.on('data', (b: Buffer) => err.push(b))
    child.on('error', (e: NodeJS.ErrnoException) => reject(e.code === 'ENOENT' ? missing(cmd) : e))
    child.on('close', (code) => {
      if (code === 0) resolve(Buffer.concat(out).toString())
      else reject(failed(cmd, args, code, Buffer.concat(err)))
    })
  })
}

import { spawn } from 'node:child_process'
import { CairnError } from './errors.ts'

/** Runs a helper program (mount, umount, mknod...) and rejects with its stderr on failure. */
export function execFile(cmd: string, args: readonly string[], opts: { cwd?: string; signal?: AbortSignal } = {}): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { cwd: opts.cwd, stdio: ['ignore', 'pipe', 'pipe'], ...(opts.signal ? { signal: opts.signal } : {}) })
    const out: Buffer[] = []
    const err: Buffer[] = []
    child.stdout.on('data', (b: Buffer) => out.push(b))
    child.stderr.on('data', (b: Buffer) => err.push(b))
    child.on('error', (e: NodeJS.ErrnoException) =>
      reject(
        e.code === 'ENOENT'
          ? new CairnError('ERR_MISSING_PROGRAM', `${cmd}: program not found`, { hint: `install it (Debian: apt-get install -y ${cmd})` })
          : e,
      ),
    )
    child.on('close', (code) => {
      if (code === 0) resolve(Buffer.concat(out).toString())
      else reject(new CairnError('ERR_HELPER_FAILED', `${cmd} ${args.join(' ')}: exit ${code}: ${Buffer.concat(err).toString().trim()}`))
    })
  })
}

import { spawn } from 'node:child_process'
import { copyFile, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'

export const REPO = fileURLToPath(new URL('../..', import.meta.url))
export const isRoot = process.getuid?.() === 0

/** Why a root-only integration test cannot run here, or undefined when it can. */
export async function missingPrerequisite(tools: readonly string[] = ['runc']): Promise<string | undefined> {
  if (!isRoot) return 'needs root (cairn mounts overlay filesystems and runs runc)'
  for (const t of tools) {
    const found = await run('sh', ['-c', `command -v ${t}`]).then((r) => r.code === 0)
    if (!found) return `needs ${t} (apt-get install -y ${t === 'docker-registry' ? 'docker-registry' : t})`
  }
  return undefined
}

export interface RunResult {
  code: number
  stdout: string
  stderr: string
}

export function run(cmd: string, args: readonly string[], opts: { cwd?: string; env?: NodeJS.ProcessEnv; input?: string } = {}): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { cwd: opts.cwd, env: opts.env ?? process.env, stdio: [opts.input === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'] })
    let stdout = ''
    let stderr = ''
    child.stdout?.on('data', (b: Buffer) => (stdout += b.toString()))
    child.stderr?.on('data', (b: Buffer) => (stderr += b.toString()))
    child.on('error', reject)
    child.on('close', (code) => resolve({ code: code ?? 1, stdout, stderr }))
    if (opts.input !== undefined && child.stdin) {
      child.stdin.on('error', () => {})
      child.stdin.end(opts.input)
    }
  })
}

/** Runs the real CLI (bin/cairn over dist/) with a given --root. */
export function cairn(root: string, args: readonly string[], env: NodeJS.ProcessEnv = {}): Promise<RunResult> {
  const [cmd, ...rest] = args
  return run(join(REPO, 'bin', 'cairn'), [cmd as string, '--root', root, ...rest], { env: { ...process.env, CAIRN_ROOT: '', ...env } })
}

export async function tempDir(prefix: string): Promise<string> {
  return mkdtemp(join(tmpdir(), `cairn-${prefix}-`))
}

export async function writeTree(dir: string, files: Record<string, string>): Promise<void> {
  for (const [rel, body] of Object.entries(files)) {
    await mkdir(dirname(join(dir, rel)), { recursive: true })
    await writeFile(join(dir, rel), body)
  }
}

export async function readJSON<T = Record<string, unknown>>(path: string): Promise<T> {
  return JSON.parse(await readFile(path, 'utf8')) as T
}

/** Builds the busybox base image (`FROM scratch` + Debian's static busybox) into a root's image store. */
export async function buildBaseImage(root: string, name = 'test/base:1'): Promise<void> {
  const ctx = await tempDir('base')
  try {
    await copyFile('/bin/busybox', join(ctx, 'busybox'))
    await writeFile(
      join(ctx, 'Dockerfile'),
      'FROM scratch\nCOPY busybox /bin/busybox\nRUN ["/bin/busybox", "--install", "-s", "/bin"]\nCMD ["/bin/sh"]\n',
    )
    // A fixed SOURCE_DATE_EPOCH makes the base image byte-identical in every root (a "fresh machine"
    // gets the same base image a registry would give it).
    const r = await cairn(root, ['build', '--progress=plain', '-t', name, ctx], { SOURCE_DATE_EPOCH: '1700000000' })
    if (r.code !== 0) throw new Error(`building the base image failed:\n${r.stderr}`)
  } finally {
    await rm(ctx, { recursive: true, force: true })
  }
}

export interface Step {
  name: string
  cached: boolean
  source?: string
}

export async function steps(metadataFile: string): Promise<Step[]> {
  return (await readJSON<{ 'cairn.steps': Step[] }>(metadataFile))['cairn.steps']
}

/** No stack trace in user-facing output. */
export const hasStackTrace = (s: string): boolean => /\n\s+at .+\(.+:\d+:\d+\)/.test(s) || /\n\s+at .+:\d+:\d+/.test(s)

/** Removes a test directory, first unmounting anything a killed cairn process left mounted in it. */
export async function removeTree(dir: string): Promise<void> {
  const { readFile } = await import('node:fs/promises')
  const mounts = (await readFile('/proc/self/mounts', 'utf8').catch(() => ''))
    .split('\n')
    .map((l) => l.split(' ')[1] ?? '')
    .filter((m) => m.startsWith(`${dir}/`))
    .sort((a, b) => b.length - a.length)
  for (const m of mounts) await run('umount', ['-l', m])
  await rm(dir, { recursive: true, force: true })
}

export interface ExecMount {
  destination: string
  type: 'bind' | 'tmpfs'
  source: string
  options: string[]
}

/** What to run: a process in a rootfs directory that the caller has mounted. */
export interface ExecSpec {
  rootfs: string
  args: string[]
  env: string[]
  cwd: string
  /** `uid[:gid]` numbers, already resolved against the rootfs' /etc/passwd. */
  uid: number
  gid: number
  additionalGids?: number[]
  network: 'host' | 'none'
  hostname?: string
  mounts: ExecMount[]
}

export interface ProcessIO {
  /** Called with each chunk the process writes; stream 1 = stdout, 2 = stderr. */
  output(stream: 1 | 2, chunk: Buffer): void
}

/** Runs a process in a container. Resolves with its exit code; rejects only if it could not be started. */
export interface Executor {
  run(spec: ExecSpec, io: ProcessIO, signal?: AbortSignal): Promise<{ exitCode: number }>
}

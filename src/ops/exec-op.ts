import { mkdir, readdir, readFile, rm, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import type { Platform } from '../core/descriptor.ts'
import { sha256 } from '../core/digest.ts'
import { ExecError } from '../core/errors.ts'
import type { ExecMount, Executor } from '../executor/executor.ts'
import { RUNTIME_MOUNT_POINTS } from '../executor/runtime-spec.ts'
import type { LayerStore } from '../snapshot/layer-store.ts'
import { unmount, mountAt } from '../snapshot/mount.ts'
import type { CacheMap, Op, OpContext } from '../solver/types.ts'
import { type BuildRef, layersOf } from './build-ref.ts'
import { goJSON } from './go-json.ts'
import { recordMissing, removeStubs } from './mount-stubs.ts'
import { resolveUser } from './users.ts'

export interface ExecOpSpec {
  args: string[]
  env: string[]
  cwd: string
  user?: string
  network?: 'sandbox' | 'host' | 'none'
  platform: Platform
  /** Where this step comes from, for messages (`Dockerfile:12`). */
  origin: string
}

export interface ExecOpDeps {
  layers: LayerStore
  executor: Executor
  /** Scratch directory for mount points and generated files. */
  workDir: string
}

const NETWORK_ENUM = { sandbox: 0, host: 1, none: 2 } as const

/** BuildKit's exec cache-map description (ops/exec.go) for a RUN with only its rootfs mount. */
export function execCacheMapJSON(s: ExecOpSpec): string {
  const meta: Record<string, unknown> = { args: s.args }
  if (s.env.length) meta.env = s.env
  meta.cwd = s.cwd
  if (s.user) meta.user = s.user
  meta.removeMountStubsRecursive = true
  const exec: Record<string, unknown> = { meta }
  const net = NETWORK_ENUM[s.network ?? 'sandbox']
  if (net) exec.network = net
  const desc: Record<string, unknown> = { Type: 'buildkit.exec.v0', Exec: exec, OS: s.platform.os, Arch: s.platform.architecture }
  if (s.platform.variant) desc.Variant = s.platform.variant
  return goJSON(desc)
}

/** A RUN step: runs a process over its input's rootfs, and its result is the rootfs plus the changes as one layer. */
export class ExecOp implements Op<BuildRef> {
  readonly spec: ExecOpSpec
  #deps: ExecOpDeps
  constructor(spec: ExecOpSpec, deps: ExecOpDeps) {
    this.spec = spec
    this.#deps = deps
  }

  async cacheMap(): Promise<CacheMap<BuildRef>> {
    return { digest: sha256(execCacheMapJSON(this.spec)), deps: [{ selector: sha256('/') }] }
  }

  async exec(inputs: readonly BuildRef[], ctx: OpContext): Promise<BuildRef> {
    const { layers, executor, workDir } = this.#deps
    const parents = layersOf(inputs[0] as BuildRef, this.spec.origin)
    for (const p of parents) await layers.ensureSnapshot(p, ctx.signal)
    const snap = layers.snapshotter
    const { id, mounts } = await snap.prepare(parents)
    const rootfs = join(workDir, 'mnt', id)
    await mountAt(mounts[0] as (typeof mounts)[0], rootfs)
    try {
      const user = await resolveUser(rootfs, this.spec.user)
      const etc = await this.#etcFiles()
      const extra: ExecMount[] = [
        { destination: '/etc/resolv.conf', type: 'bind', source: etc.resolv, options: ['rbind', 'ro'] },
        { destination: '/etc/hosts', type: 'bind', source: etc.hosts, options: ['rbind', 'ro'] },
      ]
      const stubs = await recordMissing(rootfs, [...RUNTIME_MOUNT_POINTS, ...extra.map((m) => m.destination)])
      await mkdir(join(rootfs, this.spec.cwd), { recursive: true })
      const { exitCode } = await executor.run(
        {
          rootfs,
          args: this.spec.args,
          env: this.spec.env,
          cwd: this.spec.cwd,
          uid: user.uid,
          gid: user.gid,
          additionalGids: user.additionalGids,
          network: this.spec.network === 'none' ? 'none' : 'host',
          mounts: extra,
        },
        { output: (stream, chunk) => ctx.log(stream, chunk) },
        ctx.signal,
      )
      await removeStubs(rootfs, stubs)
      if (exitCode !== 0) {
        const cmd = this.spec.args.length > 2 && this.spec.args[1] === '-c' ? this.spec.args.slice(0, 2).concat(JSON.stringify(this.spec.args.slice(2).join(' '))).join(' ') : JSON.stringify(this.spec.args)
        throw new ExecError(`${this.spec.origin}: process ${cmd} did not complete successfully: exit code: ${exitCode}`, exitCode, {
          hint: 'the command failed inside the build container; its output is shown above',
        })
      }
    } finally {
      await unmount(rootfs)
      await rm(rootfs, { recursive: true, force: true }).catch(() => {})
    }
    const diff = snap.diffDir(id)
    if ((await readdir(diff)).length === 0) {
      await snap.remove(id)
      return { kind: 'layers', layers: parents }
    }
    await snap.commit(id)
    await layers.put({ id, blobs: [], createdAt: Math.floor(Date.now() / 1000), createdBy: this.#createdBy() })
    return { kind: 'layers', layers: [...parents, id] }
  }

  #createdBy(): string {
    const a = this.spec.args
    return a.length === 3 && a[1] === '-c' ? `RUN ${a[0]} -c ${a[2]} # buildkit` : `RUN ${JSON.stringify(a)} # buildkit`
  }

  #etcFiles(): Promise<{ resolv: string; hosts: string }> {
    etcFiles ??= writeEtcFiles(this.#deps.workDir)
    return etcFiles
  }
}

let etcFiles: Promise<{ resolv: string; hosts: string }> | undefined

/** The /etc/hosts and /etc/resolv.conf given to every RUN step (written once per process). */
async function writeEtcFiles(workDir: string): Promise<{ resolv: string; hosts: string }> {
  const dir = join(workDir, 'etc')
  await mkdir(dir, { recursive: true })
  const hosts = join(dir, 'hosts')
  const resolv = join(dir, 'resolv.conf')
  await writeFile(hosts, '127.0.0.1\tlocalhost buildkitsandbox\n::1\tlocalhost ip6-localhost ip6-loopback\n')
  const host = await readFile('/etc/resolv.conf', 'utf8').catch(() => '')
  await writeFile(resolv, host.split('\n').filter((l) => !/^nameserver\s+127\./.test(l)).join('\n') || 'nameserver 8.8.8.8\n')
  return { resolv, hosts }
}

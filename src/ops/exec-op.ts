import { mkdir, readdir, readFile, rm, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import type { Platform } from '../core/descriptor.ts'
import { sha256 } from '../core/digest.ts'
import { ExecError, NotFoundError } from '../core/errors.ts'
import type { ExecMount, Executor } from '../executor/executor.ts'
import { RUNTIME_MOUNT_POINTS } from '../executor/runtime-spec.ts'
import type { LayerStore } from '../snapshot/layer-store.ts'
import { mountAt, unmount } from '../snapshot/mount.ts'
import type { CacheDep, CacheMap, Op, OpContext } from '../solver/types.ts'
import { prepareSecrets, type SecretMountSpec, secretEnvKeyJSON, secretMountsKeyJSON, withEnv } from '../secrets/exec-secrets.ts'
import type { SecretStore } from '../secrets/store.ts'
import { type BuildRef, layersOf } from './build-ref.ts'
import type { CacheMountStore } from './cache-mounts/store.ts'
import { prepareMounts } from './exec-mount-setup.ts'
import { type ExecMountSpec, mountDeps, mountsJSON } from './exec-mounts.ts'
import type { ContentChecksum } from './file-op.ts'
import { goJSON } from './go-json.ts'
import { recordMissing, removeStubs } from './mount-stubs.ts'
import { resolveUser } from './users.ts'
import { mountPoint } from '../snapshot/mount-dirs.ts'

export interface ExecOpSpec {
  args: string[]
  env: string[]
  cwd: string
  user?: string
  network?: 'sandbox' | 'host' | 'none'
  platform: Platform
  /** Where this step comes from, for messages (`Dockerfile:12`). */
  origin: string
  /** Mounts besides the rootfs (input 0); their `input` indexes the op's inputs. */
  mounts?: ExecMountSpec[]
  /** The RUN text for the layer's history (defaults to one derived from args). */
  createdBy?: string
  /** `--mount=type=secret` mounts (appended after `mounts` in the key; provided from `secrets` at run time). */
  secrets?: SecretMountSpec[]
}

export interface ExecOpDeps {
  layers: LayerStore
  executor: Executor
  /** Scratch directory for mount points and generated files. */
  workDir: string
  /** Content checksums of mount sources (needed only with mounts that read an input). */
  checksum?: ContentChecksum
  /** Where cache mounts live (needed only with `type=cache` mounts). */
  cacheMounts?: CacheMountStore
  /** The build's secrets (needed only with `type=secret` mounts). */
  secrets?: SecretStore
}

const NETWORK_ENUM = { sandbox: 0, host: 1, none: 2 } as const

/** BuildKit's exec cache-map description (ops/exec.go): meta, mounts (sorted by dest, selectors cleared), network, platform. */
export function execCacheMapJSON(s: ExecOpSpec): string {
  const meta: Record<string, unknown> = { args: s.args }
  if (s.env.length) meta.env = s.env
  meta.cwd = s.cwd
  if (s.user) meta.user = s.user
  meta.removeMountStubsRecursive = true
  const exec: Record<string, unknown> = { meta }
  let mounts = mountsJSON(s.mounts ?? [])
  // secret mounts: after the sorted mounts, input -1; their id/target/mode/uid/gid/optional are keyed, never the value
  const secretMounts = secretMountsKeyJSON(s.secrets ?? [])
  if (secretMounts.length) mounts = [...(mounts ?? [{ dest: '/' }]), ...secretMounts]
  if (mounts) exec.mounts = mounts
  const net = NETWORK_ENUM[s.network ?? 'sandbox']
  if (net) exec.network = net
  const secretenv = secretEnvKeyJSON(s.secrets ?? [])
  if (secretenv) exec.secretenv = secretenv
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

  /** Number of inputs: the rootfs plus one per distinct mount source. */
  get inputCount(): number {
    return 1 + Math.max(0, ...(this.spec.mounts ?? []).map((m) => m.input))
  }

  async cacheMap(): Promise<CacheMap<BuildRef>> {
    const deps = mountDeps(this.spec.mounts ?? [], this.inputCount).map((d): CacheDep<BuildRef> => {
      const dep: CacheDep<BuildRef> = {}
      if (d.selectors.length) dep.selector = sha256(d.selectors.join('\0'))
      const checksum = this.#deps.checksum
      if (d.contentHash && checksum) {
        dep.contentDigest = (ref, signal) =>
          checksum(ref, d.contentPaths, signal).catch((err: unknown) => {
            if (!(err instanceof NotFoundError)) throw err
            throw new NotFoundError(
              `${this.spec.origin}: failed to compute cache key: mount source ${err.message.replace(/^.*?("\/[^"]*").*$/, '$1')} not found`,
              {
                code: 'ERR_MOUNT_SOURCE_NOT_FOUND',
                hint: 'check the source= path: it is relative to the build context (or to the from= stage or image) and must not be excluded by .dockerignore',
                cause: err,
              },
            )
          })
      }
      return dep
    })
    const description = execCacheMapJSON(this.spec)
    return { digest: sha256(description), description, deps }
  }

  async exec(inputs: readonly BuildRef[], ctx: OpContext): Promise<BuildRef> {
    const { layers, executor, workDir } = this.#deps
    const parents = layersOf(inputs[0] as BuildRef, this.spec.origin)
    for (const p of parents) await layers.ensureSnapshot(p, ctx.signal)
    const snap = layers.snapshotter
    const { id, mounts } = await snap.prepare(parents)
    const rootfs = mountPoint(workDir, id)
    await mountAt(mounts[0] as (typeof mounts)[0], rootfs)
    let release = async () => {}
    let releaseSecrets = async () => {}
    let ok = false
    try {
      const user = await resolveUser(rootfs, this.spec.user)
      const etc = await this.#etcFiles()
      const prepared = await prepareMounts(this.spec.mounts ?? [], inputs, this.#deps, id, this.spec.origin, ctx.signal)
      release = prepared.release
      const secrets = await prepareSecrets(this.spec.secrets ?? [], this.#deps.secrets, { dir: mountPoint(workDir, `${id}-secrets`), origin: this.spec.origin })
      releaseSecrets = secrets.release
      const extra: ExecMount[] = [
        { destination: '/etc/resolv.conf', type: 'bind', source: etc.resolv, options: ['rbind', 'ro'] },
        { destination: '/etc/hosts', type: 'bind', source: etc.hosts, options: ['rbind', 'ro'] },
        ...prepared.mounts,
        ...secrets.mounts,
      ]
      const stubs = await recordMissing(rootfs, [...RUNTIME_MOUNT_POINTS, ...extra.map((m) => m.destination)])
      await mkdir(join(rootfs, this.spec.cwd), { recursive: true })
      const { exitCode } = await executor.run(
        {
          rootfs,
          args: this.spec.args,
          env: withEnv(this.spec.env, secrets.env),
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
        const cmd =
          this.spec.args.length > 2 && this.spec.args[1] === '-c'
            ? this.spec.args
                .slice(0, 2)
                .concat(JSON.stringify(this.spec.args.slice(2).join(' ')))
                .join(' ')
            : JSON.stringify(this.spec.args)
        throw new ExecError(`${this.spec.origin}: process ${cmd} did not complete successfully: exit code: ${exitCode}`, exitCode, {
          hint: 'the command failed inside the build container; its output is shown above',
        })
      }
      ok = true
    } finally {
      await releaseSecrets()
      await release()
      await unmount(rootfs).catch(() => {})
      await rm(rootfs, { recursive: true, force: true }).catch(() => {})
      if (!ok) await snap.remove(id)
    }
    const diff = snap.diffDir(id)
    if ((await readdir(diff)).length === 0) {
      await snap.remove(id)
      return { kind: 'layers', layers: parents }
    }
    await snap.commit(id)
    await layers.put({ id, blobs: [], createdAt: layers.now(), createdBy: this.#createdBy() })
    return { kind: 'layers', layers: [...parents, id] }
  }

  #createdBy(): string {
    if (this.spec.createdBy) return this.spec.createdBy
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
  await writeFile(
    resolv,
    host
      .split('\n')
      .filter((l) => !/^nameserver\s+127\./.test(l))
      .join('\n') || 'nameserver 8.8.8.8\n',
  )
  return { resolv, hosts }
}

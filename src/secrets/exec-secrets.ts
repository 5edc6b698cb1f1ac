/**
 * A RUN step's secret mounts (`--mount=type=secret`): how they appear in the exec cache key, and
 * how they are provided at run time. The key has the secret's id, target, mode, uid, gid and
 * whether it is optional (BuildKit's `secretOpt`, and `secretenv` for env secrets) but never the
 * value: changing a secret's value does not invalidate the step's cache.
 */

import { randomBytes } from 'node:crypto'
import { chmod, chown, mkdir, rm, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { NotFoundError } from '../core/errors.ts'
import { execFile } from '../core/exec-file.ts'
import type { ExecMount } from '../executor/executor.ts'
import { unmount } from '../snapshot/mount.ts'
import type { SecretStore } from './store.ts'

/** One `--mount=type=secret` of a RUN, with BuildKit's defaults applied. */
export interface SecretMountSpec {
  id: string
  /** Absolute file path in the container; absent for an env-only secret. */
  dest?: string
  /** Environment variable to expose the value as. */
  env?: string
  /** File mode (default 0400), owner (default 0:0). */
  mode: number
  uid: number
  gid: number
  /** `required=true`: a missing secret fails the step (otherwise the mount is skipped). */
  required: boolean
}

const MOUNT_TYPE_SECRET = 1

/** The secret file mounts as BuildKit appends them to the exec's mounts (after the sorted ones, input -1, in Dockerfile order). */
export function secretMountsKeyJSON(specs: readonly SecretMountSpec[]): Record<string, unknown>[] {
  return specs
    .filter((s) => s.dest !== undefined)
    .map((s) => {
      const opt: Record<string, unknown> = { ID: s.id }
      if (s.uid) opt.uid = s.uid
      if (s.gid) opt.gid = s.gid
      if (s.mode) opt.mode = s.mode
      if (!s.required) opt.optional = true
      return { input: -1, dest: s.dest, mountType: MOUNT_TYPE_SECRET, secretOpt: opt }
    })
}

/** The exec's `secretenv` list (id, variable name, optional), or undefined when no secret goes to an env variable. */
export function secretEnvKeyJSON(specs: readonly SecretMountSpec[]): Record<string, unknown>[] | undefined {
  const out = specs.filter((s) => s.env !== undefined).map((s) => ({ ID: s.id, name: s.env, ...(s.required ? {} : { optional: true }) }))
  return out.length ? out : undefined
}

/** What a step's secrets add to its run: bind mounts of in-memory files, env variables, and their cleanup. */
export interface PreparedSecrets {
  mounts: ExecMount[]
  env: string[]
  release(): Promise<void>
}

/**
 * Provides a step's secrets: each file is written to a private tmpfs (mode 0700, never on disk
 * nor on the step's overlay) and bind-mounted read-only at its target; env secrets become
 * variables of the process only. `release` unmounts and removes the tmpfs right after the step.
 * A missing required secret is an error that names the id and the flag to add.
 */
export async function prepareSecrets(
  specs: readonly SecretMountSpec[],
  store: SecretStore | undefined,
  o: { dir: string; origin: string },
): Promise<PreparedSecrets> {
  const mounts: ExecMount[] = []
  const env: string[] = []
  const files: { spec: SecretMountSpec; value: Buffer }[] = []
  for (const s of specs) {
    const value = store?.get(s.id)
    if (value === undefined) {
      if (!s.required) continue
      throw new NotFoundError(`${o.origin}: secret "${s.id}" is required (required=true) but the build was not given it`, {
        code: 'ERR_SECRET_MISSING',
        hint: `pass it to the build: --secret id=${s.id},src=<file> or --secret id=${s.id},env=<VARIABLE>`,
      })
    }
    if (s.env !== undefined) env.push(`${s.env}=${value.toString('utf8')}`)
    if (s.dest !== undefined) files.push({ spec: s, value })
  }
  if (files.length === 0) return { mounts, env, release: async () => {} }
  await mkdir(o.dir, { recursive: true, mode: 0o700 })
  const noexec = files.every((f) => (f.spec.mode & 0o111) === 0)
  let mounted = false
  const release = async () => {
    if (mounted) await unmount(o.dir).catch(() => {})
    await rm(o.dir, { recursive: true, force: true }).catch(() => {})
  }
  try {
    const opts = ['mode=0700', 'nodev', 'nosuid', ...(noexec ? ['noexec'] : []), 'size=64m']
    await execFile('mount', ['-t', 'tmpfs', '-o', opts.join(','), 'tmpfs', o.dir])
    mounted = true
    for (const { spec, value } of files) {
      const file = join(o.dir, randomBytes(12).toString('hex'))
      await writeFile(file, value, { mode: 0o600 })
      await chown(file, spec.uid, spec.gid)
      await chmod(file, spec.mode & 0o7777)
      mounts.push({
        destination: spec.dest as string,
        type: 'bind',
        source: file,
        options: ['rbind', 'ro', 'nosuid', 'nodev', ...(noexec || (spec.mode & 0o111) === 0 ? ['noexec'] : [])],
      })
    }
  } catch (err) {
    await release()
    throw err
  }
  return { mounts, env, release }
}

/** `env` with `extra` (NAME=value) set, replacing earlier definitions of the same names. */
export function withEnv(env: readonly string[], extra: readonly string[]): string[] {
  if (extra.length === 0) return [...env]
  const names = new Set(extra.map((e) => e.slice(0, e.indexOf('='))))
  return [...env.filter((e) => !names.has(e.slice(0, e.indexOf('=')))), ...extra]
}

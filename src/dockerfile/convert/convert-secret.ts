/** RUN --mount=type=secret → the exec's secret mount (dockerfile2llb convert_secrets.go). */
import { posix } from 'node:path'
import type { SecretMountSpec } from '../../secrets/exec-secrets.ts'
import type { RunMount } from '../instructions/index.ts'

/**
 * BuildKit's defaults: id from `id=` (or `source=`, or the base name of the target), a file at
 * `/run/secrets/<id>` unless only `env=` is given, mode 0400, owner 0:0, optional unless
 * `required=true`. A relative target is taken from the working directory.
 */
export function secretMount(m: RunMount, workdir: string): SecretMountSpec {
  const id = m.source || m.id || posix.basename(m.target ?? '')
  const target = m.target || (m.env === undefined ? `/run/secrets/${posix.basename(id)}` : undefined)
  return {
    id,
    ...(target !== undefined ? { dest: posix.resolve(workdir, target) } : {}),
    ...(m.env !== undefined ? { env: m.env } : {}),
    mode: m.mode ?? 0o400,
    uid: m.uid ?? 0,
    gid: m.gid ?? 0,
    required: m.required ?? false,
  }
}

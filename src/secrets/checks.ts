/** Warnings about how secrets are passed to a build; they name ids and build args, never values. */
import { MIN_PATTERN_BYTES } from './matcher.ts'
import type { SecretStore } from './store.ts'

export interface SecretWarning {
  rule: string
  message: string
}

/**
 * `SecretInBuildArg`: a `--build-arg` whose value is a secret's value (build args end up in the
 * image history and in cache keys); `SecretTooShort`: a secret shorter than MIN_PATTERN_BYTES,
 * which cairn can neither find in layers nor mask in output.
 */
export function secretWarnings(buildArgs: ReadonlyMap<string, string>, secrets: SecretStore): SecretWarning[] {
  const out: SecretWarning[] = []
  for (const id of secrets.ids()) {
    const value = secrets.get(id)
    if (!value || value.length === 0) continue
    for (const [name, v] of buildArgs) {
      if (v.length > 0 && Buffer.from(v).equals(value)) {
        out.push({
          rule: 'SecretInBuildArg',
          message: `--build-arg ${name} has the value of secret "${id}": build args are recorded in the image history and cache keys; read it with RUN --mount=type=secret,id=${id} instead`,
        })
      }
    }
    if (value.length < MIN_PATTERN_BYTES) {
      out.push({
        rule: 'SecretTooShort',
        message: `secret "${id}" is shorter than ${MIN_PATTERN_BYTES} bytes: cairn cannot check layers for it nor mask it in the output`,
      })
    }
  }
  return out
}

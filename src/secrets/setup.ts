/**
 * Everything a build needs to keep secrets secret, built once by the CLI from its flags and
 * environment (passed in; nothing here reads process state): the secret store, the redactor for
 * all output (secret values and backend credentials) and the layer leak guard.
 */
import type { CacheSpec } from '../cache/spec/types.ts'
import { InvalidArgumentError } from '../core/errors.ts'
import { credentialValues } from './credentials.ts'
import { createLeakGuard, type LeakGuard } from './leak-guard.ts'
import type { Redactor } from './redact.ts'
import { loadSecrets, parseSecretFlag, type SecretStore } from './store.ts'

export interface SecretSetupOptions {
  /** `--secret` values. */
  secretFlags: readonly string[]
  /** `--allow-secret-in-layer` ids. */
  allowInLayer: readonly string[]
  cacheSpecs: readonly CacheSpec[]
  env: Readonly<Record<string, string | undefined>>
  readFile(path: string): Promise<Buffer>
  /** The redactor the CLI's output already uses; secret and credential values are added to it. */
  redactor: Redactor
  /** Where messages about secrets go (unset env variables, allowed leaks). */
  warn(rule: string, message: string): void
}

export interface SecretSetup {
  secrets: SecretStore
  guard: LeakGuard
}

export async function setupSecrets(o: SecretSetupOptions): Promise<SecretSetup> {
  o.redactor.add(...credentialValues(o.env, o.cacheSpecs))
  const { store, notes } = await loadSecrets(o.secretFlags.map(parseSecretFlag), { env: o.env, readFile: o.readFile })
  for (const id of store.ids()) o.redactor.add(store.get(id))
  for (const n of notes) o.warn('SecretNotProvided', n)
  const given = new Set(o.secretFlags.map((f) => parseSecretFlag(f).id))
  for (const id of o.allowInLayer) {
    if (!given.has(id)) {
      throw new InvalidArgumentError(`--allow-secret-in-layer=${id}: no --secret has that id`, {
        code: 'ERR_CLI_USAGE',
        hint: `the ids given with --secret are: ${[...given].join(', ') || '(none)'}`,
      })
    }
  }
  const guard = createLeakGuard({ secrets: store, allow: new Set(o.allowInLayer), warn: (m) => o.warn('SecretInLayer', m) })
  return { secrets: store, guard }
}

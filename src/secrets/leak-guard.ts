/**
 * The leak guard: every layer this build packs or transcodes (for an image or a cache export) is
 * scanned, as its uncompressed tar streams out, for the value of every `--secret`. A layer that
 * holds one fails with SecretLeakError, so it is never exported, unless the user allowed that
 * secret with `--allow-secret-in-layer=ID` (then it is a warning). Layers taken as they are (base
 * images, imported caches, blobs that already exist) are not scanned: this build did not make them.
 */
import { CairnError } from '../core/errors.ts'
import type { LayerScanner } from '../layer/write-layer.ts'
import { createStreamMatcher, MIN_PATTERN_BYTES, type Pattern } from './matcher.ts'
import type { SecretStore } from './store.ts'

/** Makes the scanner for one pack or transcode of a layer (`step` is what made it, when known); undefined = don't scan. */
export type LayerScannerFactory = (layerId: string, step: string | undefined) => LayerScanner | undefined

/** A layer about to be exported holds a secret's value. The message names the step and the secret id, never the value. */
export class SecretLeakError extends CairnError {
  readonly layerId: string
  readonly secretId: string
  constructor(layerId: string, secretId: string, step: string) {
    super('ERR_SECRET_IN_LAYER', `secret "${secretId}" was found in the layer made by ${step}; the layer is not exported and the build fails`, {
      hint: `the step wrote the secret into the filesystem (a secret mount itself is never part of a layer): remove that, or if the secret really belongs in the image, pass --allow-secret-in-layer=${secretId}`,
    })
    this.name = 'SecretLeakError'
    this.layerId = layerId
    this.secretId = secretId
  }
}

export const isSecretLeak = (err: unknown): err is SecretLeakError => err instanceof CairnError && err.code === 'ERR_SECRET_IN_LAYER'

export interface LeakGuardOptions {
  secrets: SecretStore
  /** Secret ids allowed in layers (`--allow-secret-in-layer`). */
  allow?: ReadonlySet<string>
  /** Reports an allowed secret found in a layer (once per layer and secret). */
  warn?(message: string): void
}

export interface LeakGuard {
  /** True when at least one secret is long enough to be scanned for. */
  readonly active: boolean
  readonly scannerFor: LayerScannerFactory
  /** Names the steps that made layers (layer id → `Dockerfile:12 [stage 2/3] RUN ...`), for messages. */
  nameSteps(names: ReadonlyMap<string, string>): void
  /** Ids of secrets too short to be scanned for (the CLI warns about them once). */
  readonly unguarded: readonly string[]
}

export function createLeakGuard(o: LeakGuardOptions): LeakGuard {
  const allow = o.allow ?? new Set<string>()
  const denied: Pattern[] = []
  const allowed: Pattern[] = []
  const unguarded: string[] = []
  for (const id of o.secrets.ids()) {
    const value = o.secrets.get(id)
    if (!value || value.length === 0) continue
    if (value.length < MIN_PATTERN_BYTES) {
      unguarded.push(id)
      continue
    }
    ;(allow.has(id) ? allowed : denied).push({ id, value })
  }
  const names = new Map<string, string>()
  const warned = new Set<string>()
  const describe = (layerId: string, step: string | undefined) =>
    names.get(layerId) ?? (step ? `the step "${step.replace(/ # buildkit$/, '')}"` : `layer ${layerId}`)
  return {
    active: denied.length + allowed.length > 0,
    unguarded,
    nameSteps(m) {
      for (const [k, v] of m) names.set(k, v)
    },
    scannerFor(layerId, step) {
      if (denied.length + allowed.length === 0) return undefined
      const deny = denied.length ? createStreamMatcher(denied) : undefined
      const permit = allowed.length ? createStreamMatcher(allowed) : undefined
      return (chunk) => {
        const hit = deny?.push(chunk)
        if (hit !== undefined) throw new SecretLeakError(layerId, hit, describe(layerId, step))
        const ok = permit?.push(chunk)
        if (ok !== undefined && !warned.has(`${layerId}\0${ok}`)) {
          warned.add(`${layerId}\0${ok}`)
          o.warn?.(`secret "${ok}" is in the layer made by ${describe(layerId, step)} (allowed by --allow-secret-in-layer=${ok})`)
        }
      }
    },
  }
}

/**
 * The leak guard's part in a build: name the steps that made each layer (for the error), and scan
 * every layer any output or cache export will carry before the first byte is exported, so a leak
 * fails the build with nothing written (not one OCI archive, not one cache ref).
 */

import type { Compression } from '../layer/media-type.ts'
import type { LayerStore } from '../snapshot/layer-store.ts'
import type { LeakGuard } from './leak-guard.ts'

/** A solved step as the guard needs it. */
export interface GuardStep {
  id: string
  name: string
  /** `Dockerfile:12`, when known. */
  origin?: string
  inputs: readonly string[]
  layers: readonly string[]
}

/** layer id → `Dockerfile:12 ([stage 2/3] RUN ...)` for the layers each step added on top of its inputs. */
export function layerStepNames(steps: readonly GuardStep[]): Map<string, string> {
  const byId = new Map(steps.map((s) => [s.id, s]))
  const out = new Map<string, string>()
  for (const s of steps) {
    const below = new Set(s.inputs.flatMap((i) => byId.get(i)?.layers ?? []))
    for (const l of s.layers) {
      if (below.has(l) || out.has(l)) continue
      out.set(l, s.origin ? `${s.origin} (${s.name})` : s.name)
    }
  }
  return out
}

/** What a cache export will pack: its compression settings and whether it takes every step (mode=max). */
export interface ExportPlan {
  max: boolean
  compression: Compression
  level?: number
  force: boolean
}

/**
 * Packs (and so scans) every layer the cache exports will need, in the first export's compression,
 * exactly as the exporter would (so nothing is packed twice): all steps' layers when one export is
 * mode=max, else the final chain. Image outputs need no pass of their own: finalizing the image
 * computes every diffID, which packs and scans the layers first.
 */
export async function scanBeforeExport(
  guard: LeakGuard,
  layers: LayerStore,
  steps: readonly GuardStep[],
  finalLayers: readonly string[],
  plans: readonly ExportPlan[],
  signal: AbortSignal,
): Promise<void> {
  guard.nameSteps(layerStepNames(steps))
  const first = plans[0]
  if (!guard.active || !first) return
  const ids = plans.some((p) => p.max) ? [...new Set(steps.flatMap((s) => s.layers))] : [...finalLayers]
  for (const id of ids) {
    await layers.ensureBlob(id, first.compression, signal, { force: first.force, lazy: true, ...(first.level !== undefined ? { level: first.level } : {}) })
  }
}

import { sha256 } from '../core/digest.ts'
import type { CacheMap, Op } from '../solver/types.ts'
import { type BuildRef, layersOf } from './build-ref.ts'
import { goJSON } from './go-json.ts'

/** BuildKit's merge cache-map description (ops/merge.go; v0.17+ omits input 0). */
export function mergeCacheMapJSON(inputCount: number): string {
  const inputs = Array.from({ length: inputCount }, (_, i) => (i === 0 ? {} : { input: i }))
  return goJSON({ Type: 'buildkit.merge.v0', Merge: { inputs } })
}

/**
 * Stacks the layers of its inputs, bottom input first (`COPY --link`): the result is the layer
 * chains concatenated, so no input is read or copied. Keyed by its inputs' keys alone.
 */
export class MergeOp implements Op<BuildRef> {
  readonly inputCount: number
  readonly #origin: string
  constructor(inputCount: number, origin: string) {
    this.inputCount = inputCount
    this.#origin = origin
  }

  async cacheMap(): Promise<CacheMap<BuildRef>> {
    return { digest: sha256(mergeCacheMapJSON(this.inputCount)), deps: Array.from({ length: this.inputCount }, () => ({})) }
  }

  async exec(inputs: readonly BuildRef[]): Promise<BuildRef> {
    const layers: string[] = []
    for (const ref of inputs) for (const l of layersOf(ref, this.#origin)) if (!layers.includes(l)) layers.push(l)
    return { kind: 'layers', layers }
  }
}

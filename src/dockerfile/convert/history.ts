import type { BuildRef } from '../../ops/build-ref.ts'
import type { Vertex } from '../../solver/types.ts'

/** A history entry of the image being built; for an op, whether it is empty is known only after solving. */
export interface PendingHistory {
  createdBy: string
  comment?: string
  /** The vertex whose result adds (or not) a layer over `input`. */
  vertex?: Vertex<BuildRef>
  input?: Vertex<BuildRef> | undefined
}

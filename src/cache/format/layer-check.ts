import type { Descriptor } from '../../core/descriptor.ts'
import { isDigest } from '../../core/digest.ts'
import { InvalidArgumentError } from '../../core/errors.ts'
import { ANNOTATION_UNCOMPRESSED } from './media.ts'

/**
 * Checks that a layer descriptor can be exported: a sha256 digest, a non-negative integer size, a
 * media type and the `containerd.io/uncompressed` (diffID) annotation importers require.
 */
export function checkLayerDescriptor(desc: Descriptor, what: string): void {
  if (!isDigest(desc.digest)) throw new InvalidArgumentError(`${what}: invalid blob digest ${JSON.stringify(desc.digest)}`)
  if (!Number.isSafeInteger(desc.size) || desc.size < 0) throw new InvalidArgumentError(`${what}: invalid size ${desc.size} for ${desc.digest}`)
  if (!desc.mediaType) throw new InvalidArgumentError(`${what}: layer ${desc.digest} has no media type`)
  const diffID = desc.annotations?.[ANNOTATION_UNCOMPRESSED]
  if (!isDigest(diffID)) {
    throw new InvalidArgumentError(`${what}: layer ${desc.digest} has no valid ${ANNOTATION_UNCOMPRESSED} annotation (diffID)`, {
      hint: 'set the diffID (sha256 of the uncompressed tar) on every layer descriptor before exporting cache',
    })
  }
}

/** Throws when two descriptors for the same digest disagree on size or media type. */
export function checkSameBlob(a: Descriptor, b: Descriptor, what: string): void {
  if (a.size !== b.size || a.mediaType !== b.mediaType) {
    throw new InvalidArgumentError(
      `${what}: blob ${a.digest} is described twice with different ${a.size !== b.size ? `sizes (${a.size}, ${b.size})` : `media types (${a.mediaType}, ${b.mediaType})`}`,
    )
  }
}

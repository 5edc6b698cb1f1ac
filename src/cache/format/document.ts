/**
 * The object-store form (gha, s3, azblob): the stored document is the cache config JSON itself, and
 * the layer metadata lives in `layers[].annotations` ({mediaType, diffID, size, createdAt}) instead
 * of wrapper descriptors.
 */
import type { Descriptor } from '../../core/descriptor.ts'
import { type Digest, isDigest, sha256 } from '../../core/digest.ts'
import { checkSize, graphFromWire, parseWireConfig } from './decode.ts'
import { buildWireConfig, type EncodedCacheConfig, serializeWireConfig } from './encode.ts'
import { formatError, parseJson } from './json.ts'
import { ANNOTATION_CREATED_AT, ANNOTATION_UNCOMPRESSED, CACHE_CONFIG_MEDIA_TYPE, MAX_CONFIG_SIZE, ZERO_TIME } from './media.ts'
import type { CacheGraph } from './types.ts'

/** Encodes a graph as the object-store document (config with annotated layers). */
export function encodeConfigDocument(graph: CacheGraph): EncodedCacheConfig {
  const { wire, layers } = buildWireConfig(graph, { annotate: true })
  const config = serializeWireConfig(wire)
  return { config, configDescriptor: { mediaType: CACHE_CONFIG_MEDIA_TYPE, digest: sha256(config), size: config.length }, layers }
}

export interface DecodedConfigDocument {
  graph: CacheGraph
  /** The layer descriptors rebuilt from the annotations, one per digest. */
  layers: Descriptor[]
}

/**
 * Decodes an object-store document. Every layer must carry `annotations.diffID` (BuildKit fails the
 * import otherwise). BuildKit sets no size limit here; the default 1 MiB matches the transport's
 * ref limit and can be raised with `maxBytes`.
 */
export function decodeConfigDocument(bytes: Uint8Array, o: { maxBytes?: number; what?: string } = {}): DecodedConfigDocument {
  const what = o.what ?? 'cache config document'
  checkSize(bytes.byteLength, what, o.maxBytes ?? MAX_CONFIG_SIZE)
  const wire = parseWireConfig(parseJson(bytes, what), what)
  const provider = new Map<Digest, Descriptor>()
  ;(wire.layers ?? []).forEach((l, i) => {
    const w = `${what} layers[${i}]`
    if (!isDigest(l.blob)) throw formatError(w, `invalid blob digest ${JSON.stringify(l.blob)}`)
    const a = l.annotations
    if (!a) throw formatError(w, `no annotations for layer ${l.blob}`)
    if (!a.diffID) throw formatError(w, `no diffID for layer ${l.blob}`)
    if (!isDigest(a.diffID)) throw formatError(w, `invalid diffID ${JSON.stringify(a.diffID)}`)
    if (provider.has(l.blob)) return
    const annotations: Record<string, string> = { [ANNOTATION_UNCOMPRESSED]: a.diffID }
    if (a.createdAt && a.createdAt !== ZERO_TIME) annotations[ANNOTATION_CREATED_AT] = a.createdAt
    provider.set(l.blob, { mediaType: a.mediaType ?? '', digest: l.blob, size: a.size ?? 0, annotations })
  })
  return { graph: graphFromWire(wire, provider, what), layers: [...provider.values()] }
}

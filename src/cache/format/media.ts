/** Media types, annotation keys and limits of the BuildKit cache formats. */
import { MediaType } from '../../oci/media-types.ts'

export const CACHE_CONFIG_MEDIA_TYPE = 'application/vnd.buildkit.cacheconfig.v0'
/** Layer descriptor annotation holding the diffID (required by importers). */
export const ANNOTATION_UNCOMPRESSED = 'containerd.io/uncompressed'
/** Layer descriptor annotation holding the layer's creation time (optional). */
export const ANNOTATION_CREATED_AT = 'buildkit/createdat'
/** Layer descriptor annotation synthesised by the inline importer from the history `created_by`. */
export const ANNOTATION_DESCRIPTION = 'buildkit/description'
/** Image config key of the inline cache. */
export const INLINE_CACHE_KEY = 'moby.buildkit.cache.v0'
/** Go's zero time as BuildKit serialises an unknown time. */
export const ZERO_TIME = '0001-01-01T00:00:00Z'
/** BuildKit's limit for the wrapper manifest and the cache config on registry/local (1 MiB, inclusive). */
export const MAX_CONFIG_SIZE = 1 << 20

export const DOCKER_LAYER_ZSTD = 'application/vnd.docker.image.rootfs.diff.tar.zstd'

const TO_OCI: Record<string, string> = {
  [MediaType.dockerLayer]: MediaType.ociLayer,
  [MediaType.dockerLayerGzip]: MediaType.ociLayerGzip,
  [DOCKER_LAYER_ZSTD]: MediaType.ociLayerZstd,
}
const TO_DOCKER: Record<string, string> = Object.fromEntries(Object.entries(TO_OCI).map(([d, o]) => [o, d]))

/** Converts a layer media type to its OCI or Docker form (BuildKit's ConvertAllLayerMediaTypes); others pass through. */
export function convertLayerMediaType(mediaType: string, oci: boolean): string {
  return (oci ? TO_OCI[mediaType] : TO_DOCKER[mediaType]) ?? mediaType
}

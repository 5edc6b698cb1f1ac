/** Layer media types and the compression each implies. */
import { InvalidArgumentError } from '../core/errors.ts'

export type Compression = 'gzip' | 'zstd' | 'uncompressed'

export const MEDIA_TYPE_LAYER = 'application/vnd.oci.image.layer.v1.tar'
export const MEDIA_TYPE_LAYER_GZIP = 'application/vnd.oci.image.layer.v1.tar+gzip'
export const MEDIA_TYPE_LAYER_ZSTD = 'application/vnd.oci.image.layer.v1.tar+zstd'
export const MEDIA_TYPE_DOCKER_LAYER_GZIP = 'application/vnd.docker.image.rootfs.diff.tar.gzip'
export const MEDIA_TYPE_DOCKER_LAYER = 'application/vnd.docker.image.rootfs.diff.tar'
/** Non-distributable ("foreign") variants, still recognised when reading. */
const FOREIGN_PREFIXES = ['application/vnd.oci.image.layer.nondistributable.v1.tar', 'application/vnd.docker.image.rootfs.foreign.diff.tar']

/** The layer media type for a compression; `docker` picks the Docker schema 2 names. */
export function layerMediaType(compression: Compression, opts: { docker?: boolean } = {}): string {
  if (opts.docker === true) {
    if (compression === 'gzip') return MEDIA_TYPE_DOCKER_LAYER_GZIP
    if (compression === 'uncompressed') return MEDIA_TYPE_DOCKER_LAYER
    throw new InvalidArgumentError('zstd layers have no Docker media type', { hint: 'use OCI media types with compression=zstd' })
  }
  if (compression === 'gzip') return MEDIA_TYPE_LAYER_GZIP
  if (compression === 'zstd') return MEDIA_TYPE_LAYER_ZSTD
  return MEDIA_TYPE_LAYER
}

/** The compression a layer media type implies; InvalidArgumentError for non-layer types. */
export function compressionOfMediaType(mediaType: string): Compression {
  const mt = mediaType.trim().toLowerCase()
  switch (mt) {
    case MEDIA_TYPE_LAYER:
    case MEDIA_TYPE_DOCKER_LAYER:
      return 'uncompressed'
    case MEDIA_TYPE_LAYER_GZIP:
    case MEDIA_TYPE_DOCKER_LAYER_GZIP:
      return 'gzip'
    case MEDIA_TYPE_LAYER_ZSTD:
      return 'zstd'
  }
  for (const p of FOREIGN_PREFIXES) {
    if (mt === p) return 'uncompressed'
    if (mt === `${p}+gzip` || mt === `${p}.gzip`) return 'gzip'
    if (mt === `${p}+zstd`) return 'zstd'
  }
  throw new InvalidArgumentError(`not a layer media type: ${JSON.stringify(mediaType)}`, { code: 'ERR_LAYER_MEDIA_TYPE' })
}

export function isLayerMediaType(mediaType: string): boolean {
  try {
    compressionOfMediaType(mediaType)
    return true
  } catch {
    return false
  }
}

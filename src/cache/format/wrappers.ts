/**
 * The wrappers the registry and local backends store (cache/remotecache/export.go Finalize and
 * import.go Resolve): an OCI image manifest whose config is the cache config (`image-manifest=true`,
 * the default), or an OCI index / Docker manifest list listing every layer descriptor and then the
 * config descriptor last. Layer descriptors carry `containerd.io/uncompressed` and
 * `buildkit/createdat`.
 */
import type { Descriptor } from '../../core/descriptor.ts'
import { type Digest, isDigest, sha256 } from '../../core/digest.ts'
import { InvalidArgumentError } from '../../core/errors.ts'
import { MediaType } from '../../oci/media-types.ts'
import { checkSize } from './decode.ts'
import { arrayField, asObject, field, formatError, goJson, intField, isObject, type JsonObject, parseJson, sortedMap, stringField } from './json.ts'
import { CACHE_CONFIG_MEDIA_TYPE, convertLayerMediaType } from './media.ts'

export type WrapperForm = 'image-manifest' | 'oci-index' | 'docker-manifest-list'

export interface WrapOptions {
  /** `oci-mediatypes` (default true). */
  ociMediaTypes?: boolean
  /** `image-manifest` (default: the value of ociMediaTypes, as BuildKit ≥ 0.22). */
  imageManifest?: boolean
}

/** Which wrapper the attributes select; image-manifest without OCI media types is rejected as BuildKit does. */
export function wrapperForm(o: WrapOptions = {}): WrapperForm {
  const oci = o.ociMediaTypes ?? true
  const im = o.imageManifest ?? oci
  if (im && !oci) {
    throw new InvalidArgumentError('OCI mediatypes are required for image-manifest cache format', {
      hint: 'drop oci-mediatypes=false, or also set image-manifest=false',
    })
  }
  return im ? 'image-manifest' : oci ? 'oci-index' : 'docker-manifest-list'
}

export interface WrappedManifest {
  bytes: Uint8Array
  mediaType: string
  /** Descriptor of `bytes` (what a tag or index.json entry points at). */
  descriptor: Descriptor
}

/** Serialises the wrapper for a config descriptor and its layer descriptors (from encodeCacheConfig). */
export function wrapManifest(configDescriptor: Descriptor, layers: readonly Descriptor[], o: WrapOptions = {}): WrappedManifest {
  const form = wrapperForm(o)
  const oci = form !== 'docker-manifest-list'
  const layerDescs = layers.map((l) => descriptorJson({ ...l, mediaType: convertLayerMediaType(l.mediaType, oci) }))
  const config = descriptorJson({ mediaType: CACHE_CONFIG_MEDIA_TYPE, digest: configDescriptor.digest, size: configDescriptor.size })
  const mediaType = form === 'image-manifest' ? MediaType.ociManifest : form === 'oci-index' ? MediaType.ociIndex : MediaType.dockerManifestList
  const doc =
    form === 'image-manifest'
      ? { schemaVersion: 2, mediaType, config, layers: layerDescs }
      : { schemaVersion: 2, mediaType, manifests: [...layerDescs, config] }
  const bytes = Buffer.from(goJson(doc), 'utf8')
  return { bytes, mediaType, descriptor: { mediaType, digest: sha256(bytes), size: bytes.length } }
}

/** A descriptor in Go field order (mediaType, digest, size, urls, annotations), annotations sorted. */
function descriptorJson(d: Descriptor): Descriptor {
  const out: Descriptor = { mediaType: d.mediaType, digest: d.digest, size: d.size }
  if (d.urls && d.urls.length > 0) out.urls = d.urls
  if (d.annotations && Object.keys(d.annotations).length > 0) out.annotations = sortedMap(d.annotations)
  return out
}

export interface Unwrapped {
  /** `manifest` (OCI or Docker image manifest) or `index` (OCI index or Docker manifest list). */
  kind: 'manifest' | 'index'
  /** The detected media type (the document's own `mediaType`, else the Docker type for the shape). */
  mediaType: string
  /** The cache config descriptor; undefined means: not a cache manifest, take the inline path. */
  configDescriptor: Descriptor | undefined
  /** Layer descriptors, de-duplicated by digest (cache form); for an image manifest its layers. */
  layers: Descriptor[]
  /** Inline path: the image config descriptor of a manifest without a cache config. */
  imageConfig?: Descriptor
  /** Inline path: the child manifests of an index without a cache config. */
  manifests?: Descriptor[]
}

const MANIFEST_TYPES = new Set<string>([MediaType.ociManifest, MediaType.dockerManifest])
const INDEX_TYPES = new Set<string>([MediaType.ociIndex, MediaType.dockerManifestList])

/**
 * Reads a wrapper, detecting its shape from the content as BuildKit's DetectManifestBlobMediaType
 * does; `mediaType` (what the tag or index entry said), when given, must agree.
 */
export function unwrap(bytes: Uint8Array, mediaType?: string, o: { maxBytes?: number } = {}): Unwrapped {
  const what = 'cache manifest'
  checkSize(bytes.byteLength, what, o.maxBytes)
  const doc = asObject(parseJson(bytes, what), what)
  const has = (k: string): boolean => field(doc, k) !== undefined
  const isManifest = has('config') || has('layers')
  if (has('manifests') && isManifest) throw formatError(what, 'invalid ambiguous manifest and manifest list (has both manifests and config/layers)')
  let detected: string = isManifest ? MediaType.dockerManifest : MediaType.dockerManifestList
  const own = field(doc, 'mediaType')
  if (typeof own === 'string' && (MANIFEST_TYPES.has(own) || INDEX_TYPES.has(own))) {
    if (MANIFEST_TYPES.has(own) !== isManifest) throw formatError(what, `mediaType ${own} in manifest does not match manifest contents`)
    detected = own
  }
  if (mediaType && (MANIFEST_TYPES.has(mediaType) || INDEX_TYPES.has(mediaType)) && MANIFEST_TYPES.has(mediaType) !== isManifest) {
    throw formatError(what, `expected ${mediaType}, but the content is ${isManifest ? 'a manifest' : 'an index'}`)
  }
  const dedupe = (ds: Descriptor[]): Descriptor[] => {
    const m = new Map<Digest, Descriptor>()
    for (const d of ds) if (!m.has(d.digest)) m.set(d.digest, d)
    return [...m.values()]
  }
  if (isManifest) {
    const cfgRaw = field(doc, 'config')
    const cfg = isObject(cfgRaw) ? parseDescriptor(cfgRaw, `${what} config`) : undefined
    const layers = dedupe(arrayField(doc, 'layers', what).map((l, i) => parseDescriptor(l, `${what} layers[${i}]`)))
    if (cfg && cfg.mediaType === CACHE_CONFIG_MEDIA_TYPE) {
      checkSize(cfg.size, `cache config blob ${cfg.digest}`, o.maxBytes)
      return { kind: 'manifest', mediaType: detected, configDescriptor: cfg, layers }
    }
    return { kind: 'manifest', mediaType: detected, configDescriptor: undefined, layers, ...(cfg ? { imageConfig: cfg } : {}) }
  }
  const children = arrayField(doc, 'manifests', what).map((m, i) => parseDescriptor(m, `${what} manifests[${i}]`))
  let cfg: Descriptor | undefined
  const layers: Descriptor[] = []
  for (const c of children) {
    if (c.mediaType === CACHE_CONFIG_MEDIA_TYPE) cfg = c
    else layers.push(c)
  }
  if (cfg) {
    checkSize(cfg.size, `cache config blob ${cfg.digest}`, o.maxBytes)
    return { kind: 'index', mediaType: detected, configDescriptor: cfg, layers: dedupe(layers) }
  }
  return { kind: 'index', mediaType: detected, configDescriptor: undefined, layers: [], manifests: children }
}

/** Parses one descriptor (mediaType, digest, size, annotations, urls). */
export function parseDescriptor(v: unknown, what: string): Descriptor {
  const o: JsonObject = asObject(v, what)
  const digest = stringField(o, 'digest', what)
  if (!isDigest(digest)) throw formatError(what, `invalid digest ${JSON.stringify(digest)}`)
  const size = intField(o, 'size', what)
  if (size < 0) throw formatError(what, `invalid size ${size}`)
  const d: Descriptor = { mediaType: stringField(o, 'mediaType', what), digest, size }
  const ann = field(o, 'annotations')
  if (isObject(ann)) {
    const a: Record<string, string> = {}
    for (const [k, val] of Object.entries(ann)) if (typeof val === 'string') a[k] = val
    if (Object.keys(a).length > 0) d.annotations = a
  }
  const urls = field(o, 'urls')
  if (Array.isArray(urls)) d.urls = urls.filter((u): u is string => typeof u === 'string')
  return d
}

import type { Descriptor } from '../../core/descriptor.ts'
import { FailedPreconditionError } from '../../core/errors.ts'
import { readAllLimited } from '../../core/streams.ts'
import { sha256 } from '../../core/digest.ts'
import { nativePlatform, platformMatches } from '../../oci/platform.ts'
import {
  type CacheGraph,
  CacheGraphBuilder,
  decodeCacheConfig,
  decodeConfigDocument,
  decodeInlineCache,
  MAX_CONFIG_SIZE,
  type Unwrapped,
  unwrap,
} from '../format/index.ts'
import { mergeGraphInto } from './merge.ts'
import type { CacheTransport, CallOpts } from './transport.ts'

export interface CacheRefContent {
  graph: CacheGraph
  layers: Descriptor[]
}

/**
 * Optional transport capability: every document stored under one ref name, when a store keeps
 * several (gha: one index per GitHub scope the token may read: own branch, base, default).
 * Resolves [] when there is none.
 */
export interface MultiRefReader {
  readRefs(name: string, o?: CallOpts): Promise<ReadonlyArray<{ doc: Uint8Array; key?: string }>>
}

const canReadRefs = (t: CacheTransport): t is CacheTransport & MultiRefReader => typeof (t as Partial<MultiRefReader>).readRefs === 'function'

/**
 * Reads one cache ref and decodes it, whichever form the backend stores: a manifest / index whose
 * config blob is the cache config (registry, local), or the config document itself (s3, azblob,
 * gha). A transport with `readRefs` (gha) gives every document under the name; they are merged
 * into one graph, as BuildKit combines the indexes of all scopes. Returns undefined when the ref
 * does not exist. Every document is capped at 1 MiB.
 */
export async function readCacheRef(transport: CacheTransport, name: string, signal: AbortSignal): Promise<CacheRefContent | undefined> {
  const what = `cache ${transport.location} ref ${name}`
  if (transport.refForm === 'config' && canReadRefs(transport)) {
    const docs = await transport.readRefs(name, { signal })
    const parts = docs.map((d) => decodeConfigDocument(d.doc, { what: d.key ? `${what} (${d.key})` : what }))
    if (parts.length <= 1) return parts[0]
    const builder = new CacheGraphBuilder()
    for (const p of parts) mergeGraphInto(builder, p.graph, () => true)
    const layers = new Map<string, Descriptor>()
    for (const p of parts) for (const l of p.layers) if (!layers.has(l.digest)) layers.set(l.digest, l)
    return { graph: builder.graph(), layers: [...layers.values()] }
  }
  const doc = await transport.readRef(name, { signal })
  if (!doc) return undefined
  if (transport.refForm === 'config') {
    const { graph, layers } = decodeConfigDocument(doc, { what })
    return { graph, layers }
  }
  const w = unwrap(doc)
  if (!w.configDescriptor && (w.imageConfig || w.manifests)) return readInline(transport, w, what, signal)
  if (!w.configDescriptor) {
    throw new FailedPreconditionError(`${what}: the manifest holds no cache config (is this an image rather than a cache?)`, {
      code: 'ERR_CACHE_NOT_A_CACHE',
      hint: 'for an image with inline cache use --cache-from type=registry,ref=IMAGE; otherwise point at the cache ref written by --cache-to',
    })
  }
  const cd = w.configDescriptor
  if (cd.size > MAX_CONFIG_SIZE) throw new FailedPreconditionError(`${what}: cache config is ${cd.size} bytes, more than the 1 MiB limit`, { code: 'ERR_TOO_LARGE' })
  const stream = await transport.openBlob(cd, { signal })
  const bytes = await readAllLimited(stream, MAX_CONFIG_SIZE, `${what} config ${cd.digest}`)
  if (sha256(bytes) !== cd.digest) throw new FailedPreconditionError(`${what}: config blob ${cd.digest} is corrupt (digest mismatch)`, { code: 'ERR_CACHE_CORRUPT' })
  return { graph: decodeCacheConfig(bytes, { descriptors: w.layers, what }), layers: w.layers }
}

/** An image (not a cache manifest): its inline cache, from the image config (`moby.buildkit.cache.v0`). */
async function readInline(transport: CacheTransport, w: Unwrapped, what: string, signal: AbortSignal): Promise<CacheRefContent | undefined> {
  let manifest = w
  if (!w.imageConfig && w.manifests) {
    const native = nativePlatform()
    const child = w.manifests.find((m) => platformMatches(native, m.platform)) ?? w.manifests[0]
    if (!child) return undefined
    const bytes = await transport.readRef(child.digest, { signal }).catch(() => undefined)
    if (!bytes) return undefined
    manifest = unwrap(bytes)
  }
  if (!manifest.imageConfig) return undefined
  const cfg = await readAllLimited(await transport.openBlob(manifest.imageConfig, { signal }), 4 << 20, `${what} image config`)
  const res = decodeInlineCache(cfg, manifest.layers)
  return res.ok ? { graph: res.graph, layers: res.layers } : undefined
}

import { resolve } from 'node:path'
import { buildCacheGraph, type ExportStep } from '../cache/remote/build-graph.ts'
import { encodeInlineCache, INLINE_CACHE_KEY } from '../cache/format/index.ts'
import { annotatedLayer, layerTime } from '../cache/remote/layer-descriptor.ts'
import { writeBlob } from '../content/blob-io.ts'
import type { Descriptor } from '../core/descriptor.ts'
import { CairnError, InvalidArgumentError } from '../core/errors.ts'
import { writeImageArchive } from '../export/archive.ts'
import { buildManifest } from '../export/image.ts'
import type { OutputSpec } from '../export/output-spec.ts'
import { pushImage, sourceRepositoryOf } from '../export/push.ts'
import type { Compression } from '../layer/media-type.ts'
import { MediaType } from '../oci/media-types.ts'
import { normalizeImageName } from '../oci/reference.ts'
import type { ImageConfig } from '../oci/types.ts'
import type { RegistryClient } from '../registry/index.ts'
import type { State } from './state.ts'

export interface ImageOutputDeps {
  state: State
  registry?: RegistryClient
  signal: AbortSignal
  /** The build's steps and final step, when the image should carry an inline cache (`--cache-to type=inline`). */
  inline?: { steps: readonly ExportStep[]; finals: readonly string[] }
}

/**
 * Writes one image output (image store, registry push, OCI or Docker archive) and returns
 * BuildKit's metadata keys. Layers are compressed only when an output needs a compressed form;
 * the image store alone keeps them as they are on disk (uncompressed descriptors).
 */
export async function exportImage(
  out: Extract<OutputSpec, { type: 'image' | 'oci' | 'docker' }>,
  layerIds: readonly string[],
  config: ImageConfig,
  tags: readonly string[],
  d: ImageOutputDeps,
): Promise<Record<string, unknown>> {
  const { state, signal } = d
  const names = [...new Set([...tags, ...out.names])].map((n) => normalizeImageName(n))
  const push = out.type === 'image' && out.push
  if (out.type === 'image' && names.length === 0) {
    throw new InvalidArgumentError(push ? '--push needs an image name' : '-o type=image needs a name', { hint: 'pass -t NAME or -o type=image,name=NAME' })
  }
  if (push && !d.registry) throw new CairnError('ERR_PUSH_UNAVAILABLE', 'pushing needs a registry client')
  const compression: Compression = out.type === 'image' ? (push || d.inline ? 'gzip' : 'uncompressed') : out.compression
  const docker = out.type === 'docker'
  const layerDescs: (Descriptor & { sourceRepository?: string })[] = []
  for (const lid of layerIds) {
    // a push mounts a blob pulled from another repository of the registry: it needs no bytes for it
    const desc = await state.layers.ensureBlob(lid, compression, signal, { store: compression !== 'uncompressed', lazy: push, usable: (b) => sourceRepositoryOf(b) !== undefined })
    const plain: Descriptor & { sourceRepository?: string } = { mediaType: docker && compression === 'gzip' ? MediaType.dockerLayerGzip : desc.mediaType, digest: desc.digest, size: desc.size }
    const from = sourceRepositoryOf(desc)
    if (from) plain.sourceRepository = from
    layerDescs.push(plain)
  }
  const manifestLayers = layerDescs.map(({ sourceRepository: _, ...l }) => l)
  let finalConfig = config
  if (d.inline) {
    const inline = await inlineCache(d.inline, layerIds, compression, manifestLayers, state, signal)
    if (inline) finalConfig = { ...config, [INLINE_CACHE_KEY]: inline }
  }
  const configDesc = await writeBlob(state.blobs, docker ? MediaType.dockerConfig : MediaType.ociConfig, Buffer.from(JSON.stringify(finalConfig)))
  const manifest = buildManifest(configDesc, manifestLayers, docker)
  const manifestBytes = Buffer.from(JSON.stringify(manifest))
  const manifestDesc = await writeBlob(state.blobs, manifest.mediaType as string, manifestBytes)
  const meta: Record<string, unknown> = {}
  if (out.type === 'image') {
    await state.images.tag(names, { manifest: manifestDesc.digest, config: configDesc.digest, createdAt: new Date().toISOString() })
    if (push && d.registry) {
      meta['cairn.push'] = await pushImage(d.registry, names, { manifest: { bytes: manifestBytes, mediaType: manifest.mediaType as string }, config: configDesc, layers: layerDescs }, { layers: state.layers, blobs: state.blobs, signal })
    }
  } else {
    await writeImageArchive(resolve(out.dest), { manifest: manifestDesc, config: configDesc, layers: manifestLayers, names }, state.blobs, out.type, signal)
  }
  return {
    'containerimage.digest': manifestDesc.digest,
    'containerimage.config.digest': configDesc.digest,
    'containerimage.descriptor': manifestDesc,
    ...(names.length ? { 'image.name': names.join(',') } : {}),
    ...meta,
  }
}

/** The `moby.buildkit.cache.v0` value: the final result's chain (mode=min), over the image's own layers. */
async function inlineCache(
  src: { steps: readonly ExportStep[]; finals: readonly string[] },
  layerIds: readonly string[],
  compression: Compression,
  manifestLayers: readonly Descriptor[],
  state: State,
  signal: AbortSignal,
): Promise<string | undefined> {
  const byLayer = new Map(layerIds.map((id, i) => [id, manifestLayers[i] as Descriptor]))
  const { builder } = await buildCacheGraph(src.steps, {
    mode: 'min',
    finals: src.finals,
    layerBlob: async (id) => {
      return annotatedLayer(state.layers, id, byLayer.get(id) ?? (await state.layers.ensureBlob(id, compression, signal)), signal)
    },
    createdAt: (id) => layerTime(state.layers, id),
  })
  return encodeInlineCache(builder.graph(), manifestLayers)
}

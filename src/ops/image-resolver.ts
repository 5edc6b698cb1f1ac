import { createReadStream, existsSync } from 'node:fs'
import { access, readFile, stat } from 'node:fs/promises'
import { join } from 'node:path'
import { readBlobJSON } from '../content/blob-io.ts'
import type { Descriptor, Platform } from '../core/descriptor.ts'
import { type Digest, hexOf, isDigest } from '../core/digest.ts'
import { CairnError, FailedPreconditionError, InvalidArgumentError, isNotFound, NotFoundError } from '../core/errors.ts'
import type { ImageStore } from '../export/image-store.ts'
import { isIndexType, isManifestType } from '../oci/media-types.ts'
import { formatPlatform, platformMatches } from '../oci/platform.ts'
import { normalizeImageName, parseImageRef } from '../oci/reference.ts'
import type { RegistryClient } from '../registry/index.ts'
import { resolveRegistryImage } from './registry-image.ts'
import type { ImageConfig, ImageIndex, ImageManifest } from '../oci/types.ts'
import type { BlobSource } from '../snapshot/layer-store.ts'

/** A base image, resolved to one platform's manifest. */
export interface ResolvedImage {
  ref: string
  /** Digest the reference resolved to (the index digest for multi-platform images). */
  digest: Digest
  manifest: ImageManifest
  config: ImageConfig
  /** Where its blobs can be read, when not in the local content store. */
  blobSource?: BlobSource
}

export interface ImageResolver {
  resolve(ref: string, platform: Platform, signal: AbortSignal): Promise<ResolvedImage>
}

const MAX_DOC = 1 << 20

async function readLimitedFile(path: string, what: string): Promise<Buffer> {
  const st = await stat(path).catch(() => undefined)
  if (!st) throw new NotFoundError(`${what}: ${path} not found`, { code: 'ERR_IMAGE_NOT_FOUND' })
  if (st.size > MAX_DOC) throw new FailedPreconditionError(`${what}: ${path} is larger than 1 MiB`, { code: 'ERR_TOO_LARGE' })
  return readFile(path)
}

/** Picks the platform's manifest out of an index (recursively), or returns the manifest itself. */
async function selectManifest(read: (d: Descriptor) => Promise<unknown>, desc: Descriptor, platform: Platform, what: string): Promise<ImageManifest> {
  const doc = (await read(desc)) as ImageManifest & ImageIndex
  const mt = doc.mediaType ?? desc.mediaType
  if (isManifestType(mt) || (!mt && doc.config)) return doc
  if (isIndexType(mt) || (!mt && doc.manifests)) {
    const match = doc.manifests.find((m) => platformMatches(platform, m.platform)) ?? (doc.manifests.length === 1 && !doc.manifests[0]?.platform ? doc.manifests[0] : undefined)
    if (!match) {
      const have = doc.manifests.map((m) => (m.platform ? formatPlatform(m.platform) : 'unknown')).join(', ')
      throw new NotFoundError(`${what}: no manifest for ${formatPlatform(platform)} (has: ${have || 'none'})`, { code: 'ERR_IMAGE_PLATFORM' })
    }
    return selectManifest(read, match, platform, what)
  }
  throw new FailedPreconditionError(`${what}: unsupported media type ${mt}`, { code: 'ERR_IMAGE_MEDIA_TYPE' })
}

/** Resolves images from an OCI image layout directory (`oci-layout://DIR[:TAG|@DIGEST]`). */
export async function resolveOciLayout(spec: string, platform: Platform): Promise<ResolvedImage> {
  const body = spec.replace(/^oci-layout:\/\//, '')
  let dir = body
  let tag: string | undefined
  let digest: string | undefined
  const at = body.lastIndexOf('@')
  if (at > 0) {
    dir = body.slice(0, at)
    digest = body.slice(at + 1)
  } else {
    const colon = body.lastIndexOf(':')
    if (colon > body.lastIndexOf('/')) {
      dir = body.slice(0, colon)
      tag = body.slice(colon + 1)
    }
  }
  const what = `oci-layout ${dir}`
  await access(join(dir, 'oci-layout')).catch(() => {
    throw new NotFoundError(`${what}: not an OCI image layout (no oci-layout file)`, { code: 'ERR_IMAGE_NOT_FOUND' })
  })
  const blobPath = (d: Digest) => join(dir, 'blobs', 'sha256', hexOf(d))
  const read = async (d: Descriptor) => JSON.parse((await readLimitedFile(blobPath(d.digest), what)).toString('utf8')) as unknown
  const index = JSON.parse((await readLimitedFile(join(dir, 'index.json'), what)).toString('utf8')) as ImageIndex
  let top: Descriptor | undefined
  if (digest) top = index.manifests.find((m) => m.digest === digest) ?? (isDigest(digest) ? { mediaType: '', digest, size: -1 } : undefined)
  else if (tag) top = index.manifests.find((m) => m.annotations?.['org.opencontainers.image.ref.name'] === tag)
  else top = index.manifests.length === 1 ? index.manifests[0] : index.manifests.find((m) => m.annotations?.['org.opencontainers.image.ref.name'] === 'latest')
  if (!top) throw new NotFoundError(`${what}: no image ${tag ? `tagged ${tag}` : digest ? `with digest ${digest}` : '(several manifests; name one with :TAG)'}`, { code: 'ERR_IMAGE_NOT_FOUND' })
  const manifest = await selectManifest(read, top, platform, what)
  const config = (await read(manifest.config)) as ImageConfig
  const blobSource: BlobSource = {
    remote: false,
    has: (desc) => existsSync(blobPath(desc.digest)),
    open: async (desc) => {
      const p = blobPath(desc.digest)
      return (await stat(p).then(() => true, () => false)) ? createReadStream(p, { highWaterMark: 1 << 20 }) : undefined
    },
  }
  return { ref: spec, digest: top.digest, manifest, config, blobSource }
}

export interface ImageResolverOptions {
  store: ImageStore
  /** Pulls base images that are not in the store; without it only the store and layouts are used. */
  registry?: RegistryClient
  /** `--build-context NAME=VALUE` entries whose value is an image source. */
  namedContexts?: ReadonlyMap<string, string>
}

/** FROM resolution: named contexts, `oci-layout://` references, then cairn's image store. */
export function createImageResolver(o: ImageResolverOptions): ImageResolver {
  return {
    async resolve(ref, platform, signal) {
      const named = o.namedContexts?.get(ref)
      if (named !== undefined) return this.resolve(named.replace(/^docker-image:\/\//, ''), platform, signal)
      if (ref.startsWith('oci-layout://')) return resolveOciLayout(ref, platform)
      let name: string
      try {
        name = normalizeImageName(ref)
      } catch (err) {
        throw new InvalidArgumentError(`base image ${JSON.stringify(ref)}: ${(err as Error).message}`, { cause: err })
      }
      const img = await o.store.get(name)
      if (!img && o.registry) {
        try {
          return await resolveRegistryImage(o.registry, parseImageRef(ref), platform, signal)
        } catch (err) {
          if (signal.aborted || !(err instanceof CairnError)) throw err
          const notFound = isNotFound(err)
          throw new CairnError(notFound ? 'ERR_IMAGE_NOT_FOUND' : err.code, `base image ${ref}: ${notFound ? 'not found' : 'cannot be pulled'}: not in cairn's image store, and ${err.message}`, {
            hint: err.hint ?? `build it first with \`cairn build -t ${ref} ...\`, or pass --build-context ${ref}=oci-layout:///path/to/layout`,
            cause: err,
          })
        }
      }
      if (!img) {
        throw new NotFoundError(`base image ${ref}: not found in cairn's image store`, {
          code: 'ERR_IMAGE_NOT_FOUND',
          hint: `build it first with \`cairn build -t ${ref} -o type=image ...\`, or pass --build-context ${ref}=oci-layout:///path/to/layout`,
        })
      }
      const manifest = await readBlobJSON<ImageManifest>(o.store.blobs, { digest: img.manifest })
      const config = await readBlobJSON<ImageConfig>(o.store.blobs, manifest.config)
      return { ref: name, digest: img.manifest, manifest, config }
    },
  }
}

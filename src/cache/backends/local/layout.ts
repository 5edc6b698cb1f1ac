/** The OCI image layout files of a local cache directory: `oci-layout` and `index.json`. */
import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import type { Descriptor } from '../../../core/descriptor.ts'
import { FailedPreconditionError } from '../../../core/errors.ts'
import { MediaType } from '../../../oci/media-types.ts'
import { parseDescriptor } from '../../format/wrappers.ts'

export const REF_NAME = 'org.opencontainers.image.ref.name'
export const IMAGE_NAME = 'io.containerd.image.name'
export const OCI_LAYOUT = '{"imageLayoutVersion":"1.0.0"}'

/** index.json as read: the manifests plus any other top-level fields, kept when rewriting. */
export interface LayoutIndex {
  extra: Record<string, unknown>
  manifests: Descriptor[]
}

export const indexPath = (dir: string): string => join(dir, 'index.json')

/** Reads index.json; undefined when absent; FailedPreconditionError naming the file when it is garbage. */
export async function readIndex(dir: string): Promise<LayoutIndex | undefined> {
  const path = indexPath(dir)
  let text: string
  try {
    text = await readFile(path, 'utf8')
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined
    throw err
  }
  const garbage = (why: string, cause?: unknown): FailedPreconditionError =>
    new FailedPreconditionError(`${path}: ${why}`, {
      code: 'ERR_CACHE_LAYOUT_CORRUPT',
      hint: `the local cache index is corrupt; fix or delete ${path} (blobs stay in blobs/sha256) and export again`,
      ...(cause === undefined ? {} : { cause }),
    })
  let doc: unknown
  try {
    doc = JSON.parse(text)
  } catch (err) {
    throw garbage('not valid JSON', err)
  }
  if (typeof doc !== 'object' || doc === null || Array.isArray(doc)) throw garbage('expected a JSON object (an OCI image index)')
  const { manifests, ...extra } = doc as Record<string, unknown>
  if (manifests !== undefined && manifests !== null && !Array.isArray(manifests)) throw garbage('"manifests" is not an array')
  const list: Descriptor[] = []
  for (const [i, m] of ((manifests as unknown[] | null | undefined) ?? []).entries()) {
    try {
      list.push(parseDescriptor(m, `manifests[${i}]`))
    } catch (err) {
      throw garbage(`manifests[${i}] is not a valid descriptor (${(err as Error).message})`, err)
    }
  }
  return { extra, manifests: list }
}

/** The entry for a tag, resolved as BuildKit's client does: image name first, then ref name. */
export function findTag(index: LayoutIndex, tag: string): Descriptor | undefined {
  return index.manifests.find((m) => m.annotations?.[IMAGE_NAME] === tag) ?? index.manifests.find((m) => m.annotations?.[REF_NAME] === tag)
}

/** index.json with `desc` tagged `tag`, replacing entries of that tag without an image name (ociindex Put). */
export function putTag(index: LayoutIndex | undefined, tag: string, desc: Descriptor): Uint8Array {
  const kept = (index?.manifests ?? []).filter((m) => !(m.annotations?.[REF_NAME] === tag && (m.annotations?.[IMAGE_NAME] ?? '') === ''))
  const entry: Descriptor = { mediaType: desc.mediaType, digest: desc.digest, size: desc.size, annotations: { [REF_NAME]: tag } }
  const doc = { schemaVersion: 2, mediaType: MediaType.ociIndex, ...(index?.extra ?? {}), manifests: [...kept, entry] }
  return Buffer.from(JSON.stringify(doc))
}

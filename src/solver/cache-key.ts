import { type Digest, sha256 } from '../core/digest.ts'

/** One input link of a cache key: the selector and the key (or content checksum) of the input. */
export interface KeyLink {
  selector?: Digest | undefined
  /** The input's own cache key, or `content:<digest>` for a content checksum (BuildKit's slow key). */
  link: string
}

/**
 * BuildKit's root key: sha256 of `<cachemap digest>@<output>`. A key with inputs extends it with
 * one line per input link, so that a key depends on the op, its inputs' keys and their selectors.
 * Pure: the same graph always gives the same keys, on any machine.
 */
export function cacheKey(cmDigest: Digest, output: number, links: readonly KeyLink[]): Digest {
  const root = `${cmDigest}@${output}`
  if (links.length === 0) return sha256(root)
  const lines = links.map((l, i) => `${i}\t${l.selector ?? ''}\t${l.link}`)
  return sha256(`${root}\n${lines.join('\n')}`)
}

/** The slow-key link for a content checksum: BuildKit's `sha256("<content>@-1")` root key. */
export function contentLink(content: Digest): string {
  return sha256(`${content}@-1`)
}

import { type Digest, sha256 } from '../core/digest.ts'

/** One input link of a cache key: the selector and the key (or content checksum) of the input. */
export interface KeyLink {
  selector?: Digest | undefined
  /** The input's own cache key, or `content:<digest>` for a content checksum (BuildKit's slow key). */
  link: string
}

/** BuildKit's root key (solver/cachemanager.go rootKey): sha256 of `<cachemap digest>@<output>`; a record's digest. */
export function rootKey(cmDigest: Digest, output: number): Digest {
  return sha256(`${cmDigest}@${output}`)
}

/**
 * The key of an op's result: BuildKit's root key, extended with one line per input link so that
 * it depends on the op, its inputs' keys and their selectors. It is computable both from a live
 * graph and from an imported cache record (whose digest is the root key). Pure.
 */
export function cacheKey(cmDigest: Digest, output: number, links: readonly KeyLink[]): Digest {
  return keyFromRecord(rootKey(cmDigest, output), links)
}

/** The key of a record given its digest (root key) and one chosen link per input. */
export function keyFromRecord(recordDigest: Digest, links: readonly KeyLink[]): Digest {
  if (links.length === 0) return recordDigest
  const lines = links.map((l, i) => `${i}\t${l.selector ?? ''}\t${l.link}`)
  return sha256(`${recordDigest}\n${lines.join('\n')}`)
}

/** The slow-key link for a content checksum: BuildKit's `sha256("<content>@-1")` root key. */
export function contentLink(content: Digest): Digest {
  return sha256(`${content}@-1`)
}

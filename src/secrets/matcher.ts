/**
 * A streaming multi-pattern matcher for secret values: feed it a byte stream chunk by chunk and
 * it reports the first secret that occurs anywhere in the stream, including across chunk
 * boundaries. Each chunk is searched once per pattern with the native `Buffer.indexOf` (a
 * Boyer-Moore-Horspool search in V8, several GB/s), and the seam between two chunks is searched
 * in a small window of `longest - 1` bytes on each side, so the cost is independent of how the
 * stream is chunked and no chunk is ever copied whole.
 */

/** One value to look for; `id` names it in reports (the value itself never leaves this module). */
export interface Pattern {
  id: string
  value: Buffer
}

/** Patterns shorter than this are not searched (too many false positives, nothing to guard). */
export const MIN_PATTERN_BYTES = 4

export interface StreamMatcher {
  /** Feeds the next chunk; returns the id of a pattern found so far (the first one seen), else undefined. */
  push(chunk: Buffer): string | undefined
  /** Bytes fed so far. */
  readonly bytes: number
}

/** A matcher over the patterns that are at least MIN_PATTERN_BYTES long (duplicates merged). */
export function createStreamMatcher(patterns: readonly Pattern[]): StreamMatcher {
  const seen = new Set<string>()
  const pats: Pattern[] = []
  for (const p of patterns) {
    if (p.value.length < MIN_PATTERN_BYTES) continue
    const key = p.value.toString('base64')
    if (seen.has(key)) continue
    seen.add(key)
    pats.push(p)
  }
  // longest first: when one value contains another, the longer (more specific) one is reported
  pats.sort((a, b) => b.value.length - a.value.length)
  const keep = Math.max(0, ...pats.map((p) => p.value.length)) - 1
  // the last `keep` bytes of the stream (for matches that start in one chunk and end in a later one)
  let tail = Buffer.alloc(0)
  let bytes = 0
  let found: string | undefined
  // A match lying wholly inside the tail was reported when its own chunk was searched, so any match
  // in a seam is new.
  const search = (hay: Buffer): string | undefined => {
    for (const p of pats) if (hay.indexOf(p.value) >= 0) return p.id
    return undefined
  }
  return {
    get bytes() {
      return bytes
    },
    push(chunk: Buffer): string | undefined {
      if (found !== undefined || pats.length === 0 || chunk.length === 0) {
        bytes += chunk.length
        return found
      }
      bytes += chunk.length
      if (tail.length > 0) {
        // the seam: matches that start in the tail and end in this chunk
        const seam = Buffer.concat([tail, chunk.subarray(0, keep)])
        found = search(seam)
        if (found !== undefined) return found
      }
      found = search(chunk)
      if (found !== undefined) return found
      if (chunk.length >= keep) tail = Buffer.from(chunk.subarray(chunk.length - keep))
      else {
        const joined = Buffer.concat([tail, chunk])
        tail = Buffer.from(joined.subarray(Math.max(0, joined.length - keep)))
      }
      return undefined
    },
  }
}

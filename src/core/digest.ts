import { createHash, type Hash } from 'node:crypto'
import { InvalidArgumentError } from './errors.ts'

/** A content digest, always `sha256:<64 lowercase hex>`. */
export type Digest = string & { readonly __digest: unique symbol }

const DIGEST_RE = /^sha256:[a-f0-9]{64}$/

export function isDigest(s: unknown): s is Digest {
  return typeof s === 'string' && DIGEST_RE.test(s)
}

export function parseDigest(s: string, what = 'digest'): Digest {
  if (!isDigest(s)) throw new InvalidArgumentError(`invalid ${what} ${JSON.stringify(s)}: expected sha256:<64 hex digits>`)
  return s
}

/** sha256 of a string (UTF-8) or bytes, as a Digest. */
export function sha256(data: string | Uint8Array): Digest {
  return `sha256:${createHash('sha256').update(data).digest('hex')}` as Digest
}

export function hexOf(d: Digest): string {
  return d.slice(7)
}

export function digestFromHash(h: Hash): Digest {
  return `sha256:${h.digest('hex')}` as Digest
}

/** The digest of the empty input. */
export const EMPTY_DIGEST = sha256('')

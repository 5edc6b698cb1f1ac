import type { GhaHttpDeps } from './http.ts'

export interface ApiCallOpts {
  signal?: AbortSignal
}

/** A committed cache entry found by a lookup. */
export interface FoundEntry {
  /** The key that matched (for prefix lookups, the full key `…#<n>`). */
  key: string
  /** Pre-authenticated download URL (v2 signed Azure URL, v1 archiveLocation). A secret. */
  url: string
}

/** An entry reserved for writing; it becomes visible only after `commit`. */
export interface Reservation {
  /** Uploads one chunk; chunks may be sent concurrently and in any order. */
  putChunk(index: number, offset: number, bytes: Uint8Array, o: ApiCallOpts): Promise<void>
  /** Seals the entry with `chunks` chunks totalling `size` bytes. */
  commit(chunks: number, size: number, o: ApiCallOpts): Promise<void>
}

/**
 * The two cache-service protocols (v1 REST, v2 Twirp) behind one shape. Keys are full cache keys;
 * the cache version is fixed (GHA_CACHE_VERSION).
 */
export interface CacheApi {
  readonly protocol: 1 | 2
  /**
   * Looks up `key` exactly, then each of `restoreKeys` as a prefix (newest match wins), within the
   * scopes the token can read. Resolves undefined on a miss.
   */
  lookup(key: string, restoreKeys: readonly string[], o: ApiCallOpts): Promise<FoundEntry | undefined>
  /** Reserves `key`; resolves undefined when the entry already exists ("already exists" is not an error). */
  reserve(key: string, size: number, o: ApiCallOpts): Promise<Reservation | undefined>
}

export interface ApiContext {
  deps: GhaHttpDeps
  /** Ends in `/`. */
  baseUrl: string
  token: string
  timeoutMs: number
  /** Strings to scrub from messages (the token). */
  secrets: readonly string[]
}

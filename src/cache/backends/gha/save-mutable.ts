import { CairnError } from '../../../core/errors.ts'
import type { ApiCallOpts, CacheApi } from './api.ts'
import type { GhaHttpDeps } from './http.ts'
import { mutableSeq } from './keys.ts'

const WAIT_MS = 2000
const FORCE_TIMEOUT_MS = 15_000
const MAX_SKIPS = 64

/**
 * BuildKit's SaveMutable (buildkit-cache-format.md §3.4 "Mutable index"): entries are write-once,
 * so each write creates `<base>#<n+1>` after the newest `<base>#<n>`. On "already exists" wait 2 s
 * and start over while the accumulated wait has not passed 15 s, then skip ahead.
 */
export async function saveMutable(api: CacheApi, http: GhaHttpDeps, base: string, doc: Uint8Array, chunkSize: number, o: ApiCallOpts): Promise<string> {
  const prefix = `${base}#`
  const latest = async (): Promise<number> => {
    const e = await api.lookup(prefix, [prefix], o)
    return e === undefined ? 0 : mutableSeq(e.key, base)
  }
  let waited = 0
  let skip = 0
  while (skip <= MAX_SKIPS) {
    let seq = await latest()
    // Re-query to detect a concurrent writer.
    for (let i = 0; i < 3; i++) {
      const again = await latest()
      if (again === seq) break
      seq = Math.max(seq, again)
    }
    const key = `${base}#${seq + 1 + skip}`
    const r = await api.reserve(key, doc.byteLength, o)
    if (r === undefined) {
      if (waited < FORCE_TIMEOUT_MS) {
        await http.sleep(WAIT_MS, o.signal)
        waited += WAIT_MS
      } else {
        skip++
      }
      continue
    }
    let chunks = 0
    for (let off = 0; off < doc.byteLength; off += chunkSize) {
      await r.putChunk(chunks++, off, doc.subarray(off, Math.min(doc.byteLength, off + chunkSize)), o)
    }
    await r.commit(chunks, doc.byteLength, o)
    return key
  }
  throw new CairnError('ERR_GHA_INDEX_RACE', `GitHub Actions cache: could not reserve a new entry for ${base} (every candidate already exists)`, {
    hint: 'many jobs export to the same scope at once; give each job its own scope=',
  })
}

import { randomBytes } from 'node:crypto'
import { createReadStream, createWriteStream } from 'node:fs'
import { chmod, lutimes, mkdir, rename, rm } from 'node:fs/promises'
import { join } from 'node:path'
import { Readable } from 'node:stream'
import { pipeline } from 'node:stream/promises'
import { type Digest, sha256 } from '../core/digest.ts'
import { CairnError, FailedPreconditionError, UnavailableError } from '../core/errors.ts'
import { HashingStream } from '../core/streams.ts'
import type { LayerStore } from '../snapshot/layer-store.ts'
import type { CacheMap, Op, OpContext } from '../solver/types.ts'
import type { BuildRef } from './build-ref.ts'
import { goJSON } from './go-json.ts'

export interface HttpSourceSpec {
  url: string
  /** The file name in the result (the URL's base name, or `__unnamed__`). */
  filename: string
  /** `ADD --checksum`: the expected sha256 of the body. */
  checksum?: Digest
  origin: string
}

export interface HttpSourceDeps {
  layers: LayerStore
  workDir: string
  fetch: typeof globalThis.fetch
}

/** BuildKit's http source key (source/http/source.go formatCacheKey): sha256 of this JSON. */
export function httpCacheKeyJSON(filename: string, checksum: Digest, lastModified?: string): string {
  return goJSON({ Filename: filename, Perm: 0, UID: 0, GID: 0, Checksum: checksum, ...(lastModified ? { LastModTime: lastModified } : {}) })
}

/** The file name BuildKit's Dockerfile frontend gives an ADD URL. */
export function urlFilename(url: string): string {
  const path = new URL(url).pathname
  const base = path.replace(/\/+$/, '').split('/').pop() ?? ''
  return base === '' ? '__unnamed__' : decodeURIComponent(base)
}

interface Download {
  file: string
  digest: Digest
  lastModified?: string
}

/**
 * ADD <url>: downloads a file over HTTP(S) with the injected fetch. With a checksum the key is
 * known without downloading and the body is verified; without one the body is downloaded to
 * compute the key (as BuildKit does). The result is a one-layer tree holding `/<filename>`
 * (mode 0600, mtime from Last-Modified).
 */
export class HttpSourceOp implements Op<BuildRef> {
  readonly spec: HttpSourceSpec
  #deps: HttpSourceDeps
  #download: Promise<Download> | undefined
  constructor(spec: HttpSourceSpec, deps: HttpSourceDeps) {
    this.spec = spec
    this.#deps = deps
  }

  async cacheMap(signal: AbortSignal): Promise<CacheMap<BuildRef>> {
    let key: Digest
    if (this.spec.checksum) key = sha256(httpCacheKeyJSON(this.spec.filename, this.spec.checksum))
    else {
      const d = await this.#fetchOnce(signal)
      key = sha256(httpCacheKeyJSON(this.spec.filename, d.digest, d.lastModified))
    }
    return { digest: sha256(`buildkit.source.v0:${key}`), deps: [] }
  }

  #fetchOnce(signal: AbortSignal): Promise<Download> {
    this.#download ??= this.#fetch(signal)
    return this.#download
  }

  async #fetch(signal: AbortSignal): Promise<Download> {
    const { url, origin } = this.spec
    const dir = join(this.#deps.workDir, 'http')
    await mkdir(dir, { recursive: true })
    const file = join(dir, `${randomBytes(8).toString('hex')}`)
    let res: Response
    try {
      res = await this.#deps.fetch(url, { signal, redirect: 'follow' })
    } catch (err) {
      if (signal.aborted) throw signal.reason
      throw new UnavailableError(`${origin}: failed to download ${url}: ${(err as Error).message}`, { cause: err, hint: 'check the URL and the network' })
    }
    if (!res.ok || !res.body) {
      await res.body?.cancel().catch(() => {})
      throw new CairnError('ERR_HTTP_SOURCE', `${origin}: failed to download ${url}: invalid response status ${res.status}`, {
        hint: 'check that the URL is right and reachable',
      })
    }
    const hash = new HashingStream()
    try {
      await pipeline(Readable.fromWeb(res.body as Parameters<typeof Readable.fromWeb>[0]), hash, createWriteStream(file), { signal })
    } catch (err) {
      await rm(file, { force: true })
      throw err
    }
    const digest = hash.digest()
    if (this.spec.checksum && digest !== this.spec.checksum) {
      await rm(file, { force: true })
      throw new FailedPreconditionError(`${origin}: ADD ${url}: digest mismatch: expected ${this.spec.checksum}, got ${digest}`, {
        code: 'ERR_CHECKSUM_MISMATCH',
        hint: 'the downloaded content differs from --checksum: fix the checksum or the URL',
      })
    }
    const lm = res.headers.get('last-modified')
    return { file, digest, ...(lm ? { lastModified: lm } : {}) }
  }

  async exec(_inputs: readonly BuildRef[], ctx: OpContext): Promise<BuildRef> {
    const d = await this.#fetchOnce(ctx.signal)
    this.#download = undefined
    const { layers } = this.#deps
    const snap = layers.snapshotter
    const id = layers.newId()
    await snap.create(id)
    try {
      const target = join(snap.diffDir(id), this.spec.filename)
      await rename(d.file, target).catch(async () => {
        await pipeline(createReadStream(d.file), createWriteStream(target))
        await rm(d.file, { force: true })
      })
      await chmod(target, 0o600)
      const mtime = d.lastModified ? Date.parse(d.lastModified) / 1000 : Number.NaN
      if (Number.isFinite(mtime)) await lutimes(target, mtime, mtime)
      await snap.commit(id)
    } catch (err) {
      await snap.remove(id)
      throw err
    }
    await layers.put({ id, blobs: [], createdAt: layers.now(), createdBy: `ADD ${this.spec.url}` })
    return { kind: 'layers', layers: [id] }
  }
}

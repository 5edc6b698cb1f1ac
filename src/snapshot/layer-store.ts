import { randomBytes } from 'node:crypto'
import { mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import type { Readable } from 'node:stream'
import { pipeline } from 'node:stream/promises'
import type { BlobStore } from '../content/blob-store.ts'
import type { Descriptor } from '../core/descriptor.ts'
import { type Digest, hexOf } from '../core/digest.ts'
import { FailedPreconditionError, NotFoundError } from '../core/errors.ts'
import { applyLayer } from '../layer/apply.ts'
import { compressStream, decompressStream } from '../layer/compress.ts'
import { HashingStream, TeeStream } from '../core/streams.ts'
import { type Compression, compressionOfMediaType, layerMediaType } from '../layer/media-type.ts'
import type { PackThread } from '../layer/pack-thread.ts'
import { type PackResult, packLayer } from '../layer/write-layer.ts'
import { isSecretLeak, type LayerScannerFactory } from '../secrets/leak-guard.ts'
import { scanTap } from '../secrets/scan-tap.ts'
import type { Snapshotter } from './snapshotter.ts'

/** Somewhere a layer blob can be read from, besides the local content store (an imported cache, a registry image, a layout). */
export interface BlobSource {
  /** Whether this source holds the blob (answered from what it knows, without asking a server). */
  has(desc: Pick<Descriptor, 'digest' | 'annotations'>): boolean
  /** The blob's bytes, or undefined when this source does not have it. */
  open(desc: Descriptor, signal: AbortSignal): Promise<Readable | undefined>
  /** Reached over the network (a registry, a cloud cache): a blob read from it is worth keeping a copy of. */
  readonly remote: boolean
}

/** What cairn knows about one layer. The snapshot (on disk) and the blobs are each optional. */
export interface LayerRecord {
  id: string
  /** sha256 of the uncompressed tar; known once computed or read from an image config. */
  diffID?: Digest
  /** Size of the uncompressed tar. */
  tarSize?: number
  /** Compressed forms known to exist (locally or at a source). */
  blobs: Descriptor[]
  /** Unix seconds the layer was made (image history). */
  createdAt: number
  createdBy?: string
  /** mtime written into this layer's tar entries, fixed when its diffID is first computed (so every later pack is identical). */
  tarMtime?: number
}

export interface LayerStoreOptions {
  root: string
  blobs: BlobStore
  snapshotter: Snapshotter
  /** mtime written into layer tars (SOURCE_DATE_EPOCH or 0). */
  tarMtime: number
  /** SOURCE_DATE_EPOCH: new layers' creation times are clamped to it, so rebuilds are reproducible. */
  epoch?: number
  sources?: BlobSource[]
  /** Scans the uncompressed bytes of every layer this store packs or transcodes (the secret leak guard); a scanner that throws fails the export. */
  scanner?: LayerScannerFactory
  /** Packs on another thread, for ensureBlob(…, { offThread: true }). */
  packThread?: PackThread
}

/** How a cache export compresses layer blobs (see build/cache.ts compressionPlan). */
export interface BlobPlan {
  compression: Compression
  level?: number
  force: boolean
}

/**
 * Layer records under `<root>/<id>.json` plus `<root>/by-diffid/<hex>` aliases. Materializes
 * layers lazily: a snapshot is extracted from a blob only when an op needs it, and a blob is
 * packed from a snapshot only when an exporter needs it.
 */
export class LayerStore {
  #o: LayerStoreOptions
  #records = new Map<string, LayerRecord>()
  #pending = new Map<string, Promise<unknown>>()
  #adopting = new Map<Digest, Promise<void>>()
  readonly sources: BlobSource[]

  constructor(o: LayerStoreOptions) {
    this.#o = o
    this.sources = [...(o.sources ?? [])]
  }

  get snapshotter(): Snapshotter {
    return this.#o.snapshotter
  }

  /** The creation time (unix seconds) for a layer made now, clamped to SOURCE_DATE_EPOCH. */
  now(): number {
    const t = Math.floor(Date.now() / 1000)
    return this.#o.epoch !== undefined ? Math.min(t, this.#o.epoch) : t
  }

  newId(): string {
    return `b${Date.now().toString(36)}${randomBytes(5).toString('hex')}`
  }

  async get(id: string): Promise<LayerRecord | undefined> {
    const hit = this.#records.get(id)
    if (hit) return hit
    try {
      const rec = JSON.parse(await readFile(join(this.#o.root, `${id}.json`), 'utf8')) as LayerRecord
      this.#records.set(id, rec)
      return rec
    } catch {
      return undefined
    }
  }

  async must(id: string): Promise<LayerRecord> {
    const rec = await this.get(id)
    if (!rec) throw new NotFoundError(`layer ${id}: no record in the layer store`, { code: 'ERR_LAYER_NOT_FOUND' })
    return rec
  }

  async put(rec: LayerRecord): Promise<void> {
    this.#records.set(rec.id, rec)
    await mkdir(join(this.#o.root, 'by-diffid'), { recursive: true })
    const tmp = join(this.#o.root, `.${rec.id}.${randomBytes(4).toString('hex')}.tmp`)
    await writeFile(tmp, JSON.stringify(rec))
    await rename(tmp, join(this.#o.root, `${rec.id}.json`))
    if (rec.diffID) {
      // atomically: a reader seeing an empty alias would record the layer a second time, without its snapshot
      const alias = join(this.#o.root, 'by-diffid', hexOf(rec.diffID))
      if ((await readFile(alias, 'utf8').catch(() => '')) === rec.id) return
      const aliasTmp = `${alias}.${randomBytes(4).toString('hex')}.tmp`
      await writeFile(aliasTmp, rec.id)
      await rename(aliasTmp, alias)
    }
  }

  async findByDiffID(diffID: Digest): Promise<LayerRecord | undefined> {
    try {
      const id = (await readFile(join(this.#o.root, 'by-diffid', hexOf(diffID)), 'utf8')).trim()
      return await this.get(id)
    } catch {
      return undefined
    }
  }

  /**
   * Records a layer known by its blob (a base image's, an imported cache's). Reuses an existing
   * record with that diffID. With `onlyIfLocal`, the blob is recorded only when the local content
   * store has it (image-store manifests name blobs that may exist only as snapshots).
   */
  adopt(diffID: Digest, blob: Descriptor, createdAt: number, createdBy?: string, o: { onlyIfLocal?: boolean } = {}): Promise<LayerRecord> {
    // one at a time per diffID: two stages resolving the same base image must find one record
    const prev = this.#adopting.get(diffID) ?? Promise.resolve()
    const next = prev.then(() => this.#adopt(diffID, blob, createdAt, createdBy, o))
    this.#adopting.set(
      diffID,
      next.then(
        () => undefined,
        () => undefined,
      ),
    )
    return next
  }

  async #adopt(diffID: Digest, blob: Descriptor, createdAt: number, createdBy: string | undefined, o: { onlyIfLocal?: boolean }): Promise<LayerRecord> {
    const existing = await this.findByDiffID(diffID)
    const keepBlob = !o.onlyIfLocal || (await this.#o.blobs.stat(blob.digest)) !== undefined
    if (existing) {
      if (keepBlob && !existing.blobs.some((b) => b.digest === blob.digest)) {
        existing.blobs.push(blob)
        await this.put(existing)
      }
      return existing
    }
    const rec: LayerRecord = { id: `l${hexOf(diffID).slice(0, 40)}`, diffID, blobs: keepBlob ? [blob] : [], createdAt, ...(createdBy ? { createdBy } : {}) }
    if (compressionOfMediaType(blob.mediaType) === 'uncompressed' && blob.digest === diffID) rec.tarSize = blob.size
    await this.put(rec)
    return rec
  }

  /** Ensures the layer's snapshot is on disk, extracting a blob if needed. */
  ensureSnapshot(id: string, signal: AbortSignal): Promise<void> {
    return this.#once(`snap:${id}`, async () => {
      if (await this.#o.snapshotter.exists(id)) return
      const rec = await this.must(id)
      let lastErr: unknown
      for (const blob of rec.blobs) {
        const got = await this.#open(blob, signal)
        if (!got) continue
        const { stream } = got
        // A blob fetched over the network (a registry image, a remote cache) is kept as it streams
        // past, as containerd keeps what it pulls: a later export or push of this layer, in this build
        // or another, then reads it here instead of fetching it again or packing the snapshot.
        // (Blobs of a local cache dir or OCI layout are on this machine already: not copied.)
        const keep = got.remote ? await this.#o.blobs.writer({ signal }).catch(() => undefined) : undefined
        const tee = keep ? new TeeStream(keep.stream) : undefined
        try {
          await this.#o.snapshotter.create(id)
          const decompress = decompressStream()
          const applied = applyLayer(decompress, this.#o.snapshotter.diffDir(id), { mode: 'overlay', signal })
          await Promise.all([tee ? pipeline(stream, tee, decompress, { signal }) : pipeline(stream, decompress, { signal }), applied])
          const { diffID, size } = await applied
          checkDiffID(rec, blob, diffID)
          await this.#o.snapshotter.commit(id)
          // the tar's size comes with extracting it: the uncompressed descriptor needs no repacking
          await this.#recordTar(id, diffID, size)
          // the copy is published only whole and with the blob's digest (commit verifies both)
          if (keep && tee && !tee.failed) await keep.commit(blob).catch(() => keep.abort().catch(() => undefined))
          else await keep?.abort().catch(() => undefined)
          return
        } catch (err) {
          lastErr = err
          await keep?.abort().catch(() => undefined)
          await this.#o.snapshotter.remove(id)
        }
      }
      const why = lastErr instanceof Error ? `: ${lastErr.message}` : rec.blobs.length === 0 ? ': none is known' : `: ${rec.blobs.map((b) => b.digest).join(', ')} could not be read`
      throw new NotFoundError(`layer ${rec.diffID ?? id}: no usable blob${why}`, {
        code: 'ERR_LAYER_UNAVAILABLE',
        cause: lastErr,
      })
    })
  }

  /**
   * Makes sure the layer is usable without extracting it: its snapshot exists, or a blob of it is in
   * the local content store (fetched from a source if needed) whose content was checked against the
   * diffID, with the tar size recorded. Enough for outputs that need only blobs (an image, a push):
   * decompressing is much cheaper than creating every file. Throws when no blob is usable.
   */
  verifyLayer(id: string, signal: AbortSignal): Promise<void> {
    return this.#once(`verify:${id}`, async () => {
      if (await this.#o.snapshotter.exists(id)) return
      const rec = await this.must(id)
      let lastErr: unknown
      for (const blob of rec.blobs) {
        try {
          const local = await this.ensureBlob(id, compressionOfMediaType(blob.mediaType), signal, { lazy: false })
          if (rec.diffID && rec.tarSize !== undefined && local.digest === blob.digest) return
          const decompress = decompressStream()
          const tap = new HashingStream({ highWaterMark: 1 << 20 })
          await pipeline(await this.#o.blobs.open(local, { signal }), decompress, tap, async function* (src) {
            for await (const _ of src) {
              /* count and hash only */
            }
          })
          checkDiffID(rec, local, tap.digest())
          await this.#recordTar(id, tap.digest(), tap.size)
          return
        } catch (err) {
          if (signal.aborted) throw err
          lastErr = err
        }
      }
      // no blob: the snapshot is the only form, and extracting is the check
      if (rec.blobs.length === 0) return this.ensureSnapshot(id, signal)
      throw new NotFoundError(`layer ${rec.diffID ?? id}: no usable blob${lastErr instanceof Error ? `: ${lastErr.message}` : ''}`, {
        code: 'ERR_LAYER_UNAVAILABLE',
        cause: lastErr,
      })
    })
  }

  /**
   * The layer's diffID, packing its snapshot once to compute it if unknown: into nowhere, or with
   * `packAs` into the blob a cache export of this build will want anyway (one walk, not two).
   */
  async diffID(id: string, signal: AbortSignal, packAs?: BlobPlan): Promise<Digest> {
    const rec = await this.must(id)
    if (rec.diffID) return rec.diffID
    if (packAs) await this.exportBlob(id, packAs, signal)
    else await this.ensureBlob(id, 'uncompressed', signal, { store: false })
    return (await this.must(id)).diffID as Digest
  }

  /**
   * The blob a cache export wants for a layer. The exporter, the prepacker and an image's diffID
   * all ask through here, so they share one pack (ensureBlob is shared by its options).
   */
  exportBlob(id: string, plan: BlobPlan, signal: AbortSignal, o: { offThread?: boolean } = {}): Promise<Descriptor> {
    const level = plan.level !== undefined ? { level: plan.level } : {}
    return this.ensureBlob(id, plan.compression, signal, { force: plan.force, lazy: true, ...level, ...(o.offThread ? { offThread: true } : {}) })
  }

  /**
   * A blob of the layer in the given compression, in the local content store. Reuses one that
   * exists (locally, or fetched from a source), else packs the snapshot.
   */
  ensureBlob(
    id: string,
    compression: Compression,
    signal: AbortSignal,
    o: {
      store?: boolean
      level?: number
      force?: boolean
      lazy?: boolean
      /** With `lazy`: also a blob the caller can use without its bytes (a push mounts it from another repository). */
      usable?: (b: Descriptor) => boolean
      offThread?: boolean
    } = {},
  ): Promise<Descriptor> {
    return this.#once(`blob:${id}:${compression}:${o.store !== false}:${o.lazy === true}:${o.usable !== undefined}`, async () => {
      const rec = await this.must(id)
      const store = o.store !== false
      // The uncompressed form is the tar: once its diffID and size are known, its descriptor is too.
      if (compression === 'uncompressed' && !store && rec.diffID && rec.tarSize !== undefined) {
        return { mediaType: layerMediaType('uncompressed'), digest: rec.diffID, size: rec.tarSize }
      }
      if (!o.force || compression === 'uncompressed') {
        for (const b of rec.blobs) {
          if (compressionOfMediaType(b.mediaType) !== compression) continue
          if (!store) return b
          const local = await this.#localCopy(b)
          if (local === 'short') continue // made again below, and the new file replaces it
          if (local === 'whole') return b
          // lazy: a blob a source of this build holds is enough; it is read only if someone needs the bytes.
          // One known only from an image record (a base pulled by an earlier build) is not: no source
          // can read it now, so it is made again below, from the snapshot.
          if (o.lazy && (this.sources.some((s) => s.has(b)) || o.usable?.(b) === true)) return b
          const s = await this.openBlob(b, signal)
          if (!s) continue
          const w = await this.#o.blobs.writer({ signal })
          try {
            await pipeline(s, w.stream, { signal })
            await w.commit(b)
            return b
          } catch {
            await w.abort()
          }
        }
      }
      // Another form of the layer exists: transcode it rather than repacking the snapshot (same tar bytes, no walk).
      if (store) {
        for (const b of rec.blobs) {
          const t = await this.#transcode(rec, b, compression, o.level, signal).catch((err: unknown) => {
            if (isSecretLeak(err)) throw err
            return undefined
          })
          if (t) return t
        }
      }
      await this.ensureSnapshot(id, signal)
      const mtime = rec.tarMtime ?? this.#o.tarMtime
      const scan = this.#o.scanner?.(id, rec.createdBy)
      const blobs = this.#o.blobs
      // off the main thread when asked and possible (a secret scanner runs here, so not with one)
      if (o.offThread && store && !scan && this.#o.packThread && blobs.ingestPath && blobs.adopt) {
        const dest = await blobs.ingestPath()
        const job = { upperDir: this.#o.snapshotter.diffDir(id), compression, mtime, dest, ...(o.level !== undefined ? { level: o.level } : {}) }
        const packed = await this.#o.packThread(job, signal).catch(async (err) => {
          await rm(dest, { force: true })
          throw err
        })
        await blobs.adopt(dest, { digest: packed.digest, size: packed.size })
        return this.#recordPacked(id, compression, packed, mtime, store)
      }
      const w = store ? await this.#o.blobs.writer({ signal }) : undefined
      const sink = async (compressed: Readable) => {
        if (w) await pipeline(compressed, w.stream, { signal })
        else for await (const _ of compressed) { /* hash only */ }
      }
      const packOpts = { compression, mtime, signal, ...(o.level !== undefined ? { level: o.level } : {}), ...(scan ? { onUncompressedChunk: scan } : {}) }
      const packed = await packLayer({ upperDir: this.#o.snapshotter.diffDir(id) }, sink, packOpts).catch(async (err) => {
        await w?.abort()
        throw err
      })
      if (w) await w.commit({ digest: packed.digest, size: packed.size })
      return this.#recordPacked(id, compression, packed, mtime, store)
    })
  }

  /** Records the diffID and tar size a layer's content was found to have (unless already known). */
  async #recordTar(id: string, diffID: Digest, size: number): Promise<void> {
    const fresh = await this.must(id)
    if (fresh.diffID === diffID && fresh.tarSize === size) return
    fresh.diffID = diffID
    fresh.tarSize = size
    await this.put(fresh)
  }

  /** Records what packing a layer told: its diffID, tar size and (when stored) the new blob. */
  async #recordPacked(id: string, compression: Compression, packed: PackResult, mtime: number, store: boolean): Promise<Descriptor> {
    const fresh = await this.must(id)
    if (fresh.diffID && fresh.diffID !== packed.diffID) {
      throw new FailedPreconditionError(`layer ${id}: packing gave diffID ${packed.diffID}, recorded ${fresh.diffID}`, { code: 'ERR_LAYER_NONDETERMINISTIC' })
    }
    const desc: Descriptor = { mediaType: layerMediaType(compression), digest: packed.digest, size: packed.size }
    fresh.diffID = packed.diffID
    fresh.tarSize = packed.uncompressedSize
    fresh.tarMtime = mtime
    if (store && !fresh.blobs.some((b) => b.digest === desc.digest)) fresh.blobs.push(desc)
    await this.put(fresh)
    return desc
  }

  async #transcode(rec: LayerRecord, from: Descriptor, compression: Compression, level: number | undefined, signal: AbortSignal): Promise<Descriptor | undefined> {
    if (!rec.diffID) return undefined
    const src = await this.openBlob(from, signal)
    if (!src) return undefined
    const tar = new HashingStream()
    const w = await this.#o.blobs.writer({ signal })
    try {
      const scan = this.#o.scanner?.(rec.id, rec.createdBy)
      const stages = [src, decompressStream(), tar, ...(scan ? [scanTap(scan)] : []), compressStream(compression, level), w.stream]
      await pipeline(stages as unknown as [Readable, HashingStream], { signal })
      if (tar.digest() !== rec.diffID) {
        throw new FailedPreconditionError(`layer ${from.digest}: content hashes to ${tar.digest()}, expected diffID ${rec.diffID}`, { code: 'ERR_LAYER_CORRUPT' })
      }
      const info = await w.commit()
      const desc: Descriptor = { mediaType: layerMediaType(compression), digest: info.digest, size: info.size }
      const fresh = await this.must(rec.id)
      if (!fresh.blobs.some((b) => b.digest === desc.digest)) fresh.blobs.push(desc)
      await this.put(fresh)
      return desc
    } catch (err) {
      await w.abort()
      throw err
    }
  }

  /**
   * Whether the local content store holds `desc` whole. A file of another size than the descriptor
   * says is `short`: the remains of a write that never reached the disk (blobs packed off the main
   * thread are renamed into the store without an fsync, and a crash can leave them empty or cut).
   * It counts as absent, and the next copy written under its name replaces it.
   */
  async #localCopy(desc: Pick<Descriptor, 'digest'> & { size?: number }): Promise<'whole' | 'absent' | 'short'> {
    const st = await this.#o.blobs.stat(desc.digest)
    if (st === undefined) return 'absent'
    return desc.size === undefined || desc.size < 0 || st.size === desc.size ? 'whole' : 'short'
  }

  /** The path of a blob in the local content store, when it is there whole (see #localCopy). */
  async localBlobPath(desc: Pick<Descriptor, 'digest'> & { size?: number }): Promise<string | undefined> {
    return (await this.#localCopy(desc)) === 'whole' ? this.#o.blobs.path(desc.digest) : undefined
  }

  /** A layer blob's bytes from the local content store or any registered source; undefined if none has it. */
  async openBlob(desc: Descriptor, signal: AbortSignal): Promise<Readable | undefined> {
    return (await this.#open(desc, signal))?.stream
  }

  /** openBlob, also telling whether the bytes come over the network (from a remote source). */
  async #open(desc: Descriptor, signal: AbortSignal): Promise<{ stream: Readable; remote: boolean } | undefined> {
    if ((await this.#localCopy(desc)) === 'whole') return { stream: await this.#o.blobs.open(desc, { signal }), remote: false }
    for (const src of this.sources) {
      if (!src.has(desc)) continue
      const stream = await src.open(desc, signal).catch(() => undefined)
      if (stream) return { stream, remote: src.remote }
    }
    return undefined
  }

  #once<T>(key: string, fn: () => Promise<T>): Promise<T> {
    let p = this.#pending.get(key) as Promise<T> | undefined
    if (!p) {
      p = fn().finally(() => this.#pending.delete(key))
      this.#pending.set(key, p)
    }
    return p
  }
}

/** A blob whose content does not hash to the layer's recorded diffID is corrupt (or not this layer's). */
function checkDiffID(rec: LayerRecord, blob: Pick<Descriptor, 'digest'>, diffID: Digest): void {
  if (rec.diffID && diffID !== rec.diffID) {
    throw new FailedPreconditionError(`layer ${blob.digest}: content hashes to ${diffID}, expected diffID ${rec.diffID}`, { code: 'ERR_LAYER_CORRUPT' })
  }
}

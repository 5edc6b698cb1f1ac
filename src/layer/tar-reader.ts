/**
 * Streaming tar reader: an async iterator of `{ header, body }`. Understands ustar, PAX `x`
 * records (path, linkpath, size, uid, gid, uname, gname, mtime, SCHILY.xattr.*), skips PAX
 * global `g` headers, applies GNU long name/link (`L`/`K`) records and verifies every
 * header checksum. Only one chunk of the input is held at a time.
 *
 * Contract: consume (or ignore) `body` before asking for the next entry; an unconsumed
 * remainder is skipped and the body destroyed when the iterator advances.
 */
import { Readable } from 'node:stream'
import { FailedPreconditionError, NotImplementedError, throwIfAborted } from '../core/errors.ts'
import { checksumOk, decodeBlock, isZeroBlock, TYPE_OF_FLAG } from './tar-decode.ts'
import { BLOCK, makeHeader, parsePax, type TarHeader } from './tar-header.ts'

export interface TarEntry {
  header: TarHeader
  body: Readable
}

export interface TarReadOptions {
  signal?: AbortSignal
  /** Sees every input byte, in order, including trailing padding after the end marker. */
  onChunk?: (chunk: Buffer) => void
}

const META_LIMIT = 16 * 1024 * 1024

const corrupt = (msg: string): FailedPreconditionError => new FailedPreconditionError(`tar: ${msg}`, { code: 'ERR_LAYER_TAR_CORRUPT' })

/** A pull-based byte source over an async iterable of chunks. */
class ByteSource {
  readonly #it: AsyncIterator<Buffer | string>
  readonly #onChunk: ((c: Buffer) => void) | undefined
  #buf: Buffer = Buffer.alloc(0)
  #off = 0
  #eof = false
  constructor(src: AsyncIterable<Buffer | string>, onChunk: ((c: Buffer) => void) | undefined) {
    this.#it = src[Symbol.asyncIterator]()
    this.#onChunk = onChunk
  }
  async #fill(): Promise<boolean> {
    while (this.#off >= this.#buf.length) {
      if (this.#eof) return false
      const r = await this.#it.next()
      if (r.done === true) {
        this.#eof = true
        return false
      }
      const b = typeof r.value === 'string' ? Buffer.from(r.value) : r.value
      this.#onChunk?.(b)
      this.#buf = b
      this.#off = 0
    }
    return true
  }
  /** Up to `n` bytes (a view of the current chunk), or null at end of input. */
  async readUpTo(n: number): Promise<Buffer | null> {
    if (!(await this.#fill())) return null
    const end = Math.min(this.#buf.length, this.#off + n)
    const out = this.#buf.subarray(this.#off, end)
    this.#off = end
    return out
  }
  /** Exactly `n` bytes; null if the input ends before the first byte; throws if it ends inside. */
  async readExact(n: number): Promise<Buffer | null> {
    const parts: Buffer[] = []
    let got = 0
    while (got < n) {
      const b = await this.readUpTo(n - got)
      if (b === null) {
        if (got === 0) return null
        throw corrupt(`unexpected end of archive (${got} of ${n} bytes)`)
      }
      parts.push(b)
      got += b.length
    }
    return parts.length === 1 ? parts[0] : Buffer.concat(parts, n)
  }
  async skip(n: number): Promise<void> {
    let left = n
    while (left > 0) {
      const b = await this.readUpTo(left)
      if (b === null) throw corrupt('unexpected end of archive while skipping')
      left -= b.length
    }
  }
  async drain(): Promise<void> {
    while ((await this.readUpTo(Number.MAX_SAFE_INTEGER)) !== null) {}
  }
  async return(): Promise<void> {
    await this.#it.return?.()
  }
}

/** The body of one entry: pulls exactly `size` bytes from the source, on demand. */
class EntryBody {
  readonly stream: Readable
  #left: number
  #inflight: Promise<void> | undefined
  readonly #src: ByteSource
  constructor(src: ByteSource, size: number) {
    this.#src = src
    this.#left = size
    this.stream = new Readable({ highWaterMark: 256 * 1024, read: () => this.#pull() })
    if (size === 0) this.stream.push(null)
  }
  #pull(): void {
    if (this.#left === 0) return
    this.#inflight = this.#src.readUpTo(this.#left).then(
      (b) => {
        this.#inflight = undefined
        if (b === null) {
          this.stream.destroy(corrupt('unexpected end of archive inside an entry body'))
          return
        }
        this.#left -= b.length
        this.stream.push(b)
        if (this.#left === 0) this.stream.push(null)
      },
      (err: unknown) => {
        this.#inflight = undefined
        this.stream.destroy(err as Error)
      },
    )
  }
  /** Skips whatever the consumer did not read. */
  async finish(): Promise<void> {
    await this.#inflight
    if (this.#left > 0) {
      const left = this.#left
      this.#left = 0
      if (!this.stream.destroyed) this.stream.destroy()
      await this.#src.skip(left)
    }
  }
}

async function readMeta(src: ByteSource, size: number, kind: string): Promise<Buffer> {
  if (size > META_LIMIT) throw corrupt(`${kind} record of ${size} bytes exceeds ${META_LIMIT}`)
  const data = size === 0 ? Buffer.alloc(0) : await src.readExact(size)
  if (data === null) throw corrupt(`unexpected end of archive in ${kind} record`)
  await src.skip((BLOCK - (size % BLOCK)) % BLOCK)
  return data
}

function applyPax(h: TarHeader, pax: Map<string, Buffer>): void {
  for (const [key, val] of pax) {
    const s = (): string => val.toString('utf8')
    const num = (): number => {
      const n = Number(s())
      if (!Number.isFinite(n)) throw corrupt(`PAX ${key}=${JSON.stringify(s())} is not a number`)
      return n
    }
    if (key === 'path') h.name = s()
    else if (key === 'linkpath') h.linkname = s()
    else if (key === 'size') h.size = num()
    else if (key === 'uid') h.uid = num()
    else if (key === 'gid') h.gid = num()
    else if (key === 'mtime') h.mtime = num()
    else if (key === 'uname') h.uname = s()
    else if (key === 'gname') h.gname = s()
    else if (key.startsWith('SCHILY.xattr.')) h.xattrs.set(key.slice('SCHILY.xattr.'.length), val)
    else if (key.startsWith('GNU.sparse.'))
      throw new NotImplementedError(`tar: PAX sparse entry ${JSON.stringify(h.name)} is not supported`, { code: 'ERR_LAYER_TAR_SPARSE' })
  }
  if (!Number.isSafeInteger(h.size) || h.size < 0) throw corrupt(`invalid size ${h.size} for ${JSON.stringify(h.name)}`)
}

/** Iterates the entries of a tar stream. */
export async function* readTar(input: AsyncIterable<Buffer | string>, opts: TarReadOptions = {}): AsyncGenerator<TarEntry> {
  const src = new ByteSource(input, opts.onChunk)
  let body: EntryBody | undefined
  try {
    let pax: Map<string, Buffer> | undefined
    let longName: string | undefined
    let longLink: string | undefined
    for (;;) {
      throwIfAborted(opts.signal)
      const block = await src.readExact(BLOCK)
      if (block === null) break // tolerate archives without an end marker
      if (isZeroBlock(block)) break
      if (!checksumOk(block)) throw corrupt('header checksum mismatch (not a tar archive, or corrupt)')
      const raw = decodeBlock(block)
      switch (raw.typeflag) {
        case 'x':
          pax = parsePax(await readMeta(src, raw.size, 'PAX'), raw.name)
          continue
        case 'g':
          await readMeta(src, raw.size, 'PAX global') // ignored: layers must not rely on globals
          continue
        case 'L':
          longName = (await readMeta(src, raw.size, 'GNU long name')).toString('utf8').replace(/\0+$/, '')
          continue
        case 'K':
          longLink = (await readMeta(src, raw.size, 'GNU long link')).toString('utf8').replace(/\0+$/, '')
          continue
      }
      const type = TYPE_OF_FLAG[raw.typeflag]
      if (type === undefined) {
        throw new NotImplementedError(`tar: entry ${JSON.stringify(raw.name)} has unsupported type ${JSON.stringify(raw.typeflag)}`, {
          code: 'ERR_LAYER_TAR_TYPE',
        })
      }
      const header = makeHeader({ ...raw, type })
      if (longName !== undefined) header.name = longName
      if (longLink !== undefined) header.linkname = longLink
      if (pax !== undefined) applyPax(header, pax)
      pax = longName = longLink = undefined
      if (type !== 'file') header.size = 0 // header-only types carry no body (as Go's archive/tar)
      const padded = header.size + ((BLOCK - (header.size % BLOCK)) % BLOCK)
      body = new EntryBody(src, header.size)
      const entry = { header, body: body.stream }
      yield entry
      await body.finish()
      await src.skip(padded - header.size)
      body = undefined
    }
    await src.drain()
  } finally {
    if (body !== undefined && !body.stream.destroyed) body.stream.destroy()
    await src.return()
  }
}

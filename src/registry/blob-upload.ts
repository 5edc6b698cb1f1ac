import { createHash } from 'node:crypto'
import type { Readable } from 'node:stream'
import type { Digest } from '../core/digest.ts'
import { CairnError, FailedPreconditionError, findCause, UnavailableError } from '../core/errors.ts'
import { errorCodes, type RegistryOpContext, where } from './errors.ts'
import { backoffMs } from './retry.ts'
import { discard, type Endpoint, type FetchBody, type Transport } from './transport.ts'

export type BlobBody = () => Readable | Promise<Readable>

export interface BlobUpload {
  transport: Transport
  endpoint: Endpoint
  repository: string
  scopes: readonly string[]
  desc: { digest: Digest; size: number }
  body: BlobBody
  ctx: RegistryOpContext
  signal?: AbortSignal | undefined
}

const OCTET = 'application/octet-stream'

/** POST …/blobs/uploads/ (optionally with extra query, e.g. mount) → the upload Location, or 'created' when a mount succeeded. */
export async function startUpload(u: Omit<BlobUpload, 'body'>, query: Record<string, string> = {}): Promise<URL | 'created'> {
  const url = new URL(`/v2/${u.repository}/blobs/uploads/`, u.endpoint.base)
  for (const [k, v] of Object.entries(query)) url.searchParams.set(k, v)
  const res = await u.transport.send(u.endpoint, {
    method: 'POST',
    url,
    headers: { 'content-length': '0' },
    scopes: u.scopes,
    ctx: u.ctx,
    ok: [201, 202],
    signal: u.signal,
  })
  await discard(res)
  if (res.status === 201) {
    checkConfirmed(res, u.desc.digest, u.ctx)
    return 'created'
  }
  return locationOf(res, u)
}

function locationOf(res: Response, u: Omit<BlobUpload, 'body'>): URL {
  const loc = res.headers.get('location')
  if (!loc) throw new CairnError('ERR_REGISTRY_PROTOCOL', `${where(u.ctx)}: the registry answered ${res.status} without a Location header`)
  return new URL(loc, u.endpoint.base)
}

function checkConfirmed(res: Response, digest: Digest, ctx: RegistryOpContext): void {
  const got = res.headers.get('docker-content-digest')
  if (got && got !== digest) {
    throw new FailedPreconditionError(`${where(ctx)}: the registry stored ${got}, expected ${digest}`, { code: 'ERR_REGISTRY_DIGEST_MISMATCH' })
  }
}

function withDigest(loc: URL, digest: Digest): URL {
  const u = new URL(loc)
  u.searchParams.set('digest', digest)
  return u
}

/**
 * Monolithic upload: POST, then PUT `?digest=` with the whole body. A retryable failure restarts
 * from the POST with a freshly opened body (an interrupted PUT leaves the session unusable).
 * `location` reuses a session the caller already opened (a mount answered 202).
 */
export async function uploadMonolithic(u: BlobUpload, location?: URL): Promise<void> {
  const o = u.transport.options
  let loc = location
  for (let attempt = 1; ; attempt++) {
    try {
      loc ??= (await startUpload(u)) as URL
      const target = withDigest(loc, u.desc.digest)
      const res = await u.transport.send(u.endpoint, {
        method: 'PUT',
        url: target,
        headers: { 'content-type': OCTET, 'content-length': String(u.desc.size) },
        body: async () => (await u.body()) as unknown as FetchBody,
        scopes: u.scopes,
        ctx: u.ctx,
        ok: [201],
        signal: u.signal,
        retry: false,
      })
      await discard(res)
      checkConfirmed(res, u.desc.digest, u.ctx)
      return
    } catch (err) {
      if (u.signal?.aborted) throw u.signal.reason
      if (errorCodes(err).includes('UND_ERR_REQ_CONTENT_LENGTH_MISMATCH')) {
        throw new FailedPreconditionError(`${where(u.ctx)}: the blob's content is not ${u.desc.size} bytes long`, {
          code: 'ERR_REGISTRY_SIZE_MISMATCH',
          cause: err,
        })
      }
      if (!(findCause(err, UnavailableError) && attempt < o.retry.attempts)) throw err
      loc = undefined
      const after = (findCause(err, UnavailableError)?.details?.retryAfterMs as number | undefined) ?? backoffMs(attempt, o.retry, o.random)
      await o.sleep(after, u.signal)
    }
  }
}

/** Reads `stream` in pieces of exactly `size` bytes (the last may be shorter). At most one piece is held. */
async function* pieces(stream: AsyncIterable<Uint8Array>, size: number): AsyncGenerator<Buffer> {
  let parts: Buffer[] = []
  let n = 0
  for await (const raw of stream) {
    let chunk = Buffer.from(raw.buffer, raw.byteOffset, raw.byteLength)
    while (chunk.length > 0) {
      const take = Math.min(size - n, chunk.length)
      parts.push(chunk.subarray(0, take))
      n += take
      chunk = chunk.subarray(take)
      if (n === size) {
        yield Buffer.concat(parts)
        parts = []
        n = 0
      }
    }
  }
  if (n > 0) yield Buffer.concat(parts)
}

/**
 * Chunked upload: POST, PATCH each `chunkSize` piece with `Content-Range: start-end`, then PUT
 * `?digest=` with no body. Each PATCH is retried with the same piece; when the registry says the
 * range does not fit (416) the upload's current offset is read back and the piece is trimmed. The
 * content is hashed on the way, and a digest or size mismatch cancels the upload before the PUT.
 */
export async function uploadChunked(u: BlobUpload, chunkSize: number): Promise<void> {
  let loc = (await startUpload(u)) as URL
  const hash = createHash('sha256')
  let offset = 0
  const src = await u.body()
  try {
    for await (const piece of pieces(src as AsyncIterable<Uint8Array>, chunkSize)) {
      hash.update(piece)
      let data = piece
      let from = offset
      for (let tries = 0; data.length > 0; tries++) {
        const res = await u.transport.send(u.endpoint, {
          method: 'PATCH',
          url: loc,
          headers: { 'content-type': OCTET, 'content-length': String(data.length), 'content-range': `${from}-${from + data.length - 1}` },
          body: () => data,
          scopes: u.scopes,
          ctx: u.ctx,
          ok: [202, 416],
          signal: u.signal,
        })
        await discard(res)
        if (res.status === 202) {
          loc = locationOf(res, u)
          break
        }
        const server = await uploadOffset(u, loc)
        if (tries > 2 || server < from || server > from + data.length) {
          throw new CairnError('ERR_REGISTRY_PROTOCOL', `${where(u.ctx)}: chunk ${from}-${from + data.length - 1} rejected (416); the upload is at ${server}`)
        }
        data = data.subarray(server - from)
        from = server
      }
      offset += piece.length
    }
  } catch (err) {
    await cancelUpload(u, loc)
    throw err
  } finally {
    src.destroy()
  }
  const got = `sha256:${hash.digest('hex')}`
  if (got !== u.desc.digest || offset !== u.desc.size) {
    await cancelUpload(u, loc)
    throw new FailedPreconditionError(`${where(u.ctx)}: the content read was ${got} (${offset} bytes), not ${u.desc.digest} (${u.desc.size} bytes)`, {
      code: 'ERR_REGISTRY_DIGEST_MISMATCH',
      hint: 'the local blob does not match its descriptor; it may be corrupt',
    })
  }
  const res = await u.transport.send(u.endpoint, {
    method: 'PUT',
    url: withDigest(loc, u.desc.digest),
    headers: { 'content-length': '0' },
    scopes: u.scopes,
    ctx: u.ctx,
    ok: [201],
    signal: u.signal,
  })
  await discard(res)
  checkConfirmed(res, u.desc.digest, u.ctx)
}

/** GET on the upload URL: its `Range: 0-N` says N+1 bytes have been received. */
async function uploadOffset(u: BlobUpload, loc: URL): Promise<number> {
  const res = await u.transport.send(u.endpoint, { method: 'GET', url: loc, scopes: u.scopes, ctx: u.ctx, ok: [204], signal: u.signal })
  await discard(res)
  const m = /^(?:bytes=)?0-(\d+)$/.exec(res.headers.get('range') ?? '')
  return m ? Number(m[1]) + 1 : 0
}

/** Best-effort DELETE of an upload session. */
async function cancelUpload(u: BlobUpload, loc: URL): Promise<void> {
  if (u.signal?.aborted) return
  try {
    const res = await u.transport.send(u.endpoint, { method: 'DELETE', url: loc, scopes: u.scopes, ctx: u.ctx, ok: [204, 404], retry: false, signal: u.signal })
    await discard(res)
  } catch {
    // The registry expires abandoned uploads itself.
  }
}

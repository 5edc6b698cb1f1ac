import { createHash } from 'node:crypto'
import { Readable } from 'node:stream'
import type { Digest } from '../core/digest.ts'
import { CairnError, FailedPreconditionError, findCause } from '../core/errors.ts'
import { errorFromNetwork, type RegistryOpContext, where } from './errors.ts'
import { backoffMs, isConnectionReset } from './retry.ts'
import type { Endpoint, Transport } from './transport.ts'

export interface BlobDownload {
  transport: Transport
  endpoint: Endpoint
  repository: string
  scopes: readonly string[]
  desc: { digest: Digest; size?: number }
  start: number
  signal?: AbortSignal | undefined
}

/**
 * Opens a blob for reading. The first request is made before this resolves, so a missing blob
 * rejects here (NotFoundError). The returned stream resumes with `Range: bytes=OFFSET-` when the
 * connection drops mid-body (up to the retry policy's attempts without progress), hashes what it
 * reads and fails with FailedPreconditionError when the size or (for a read from offset 0) the digest
 * does not match the descriptor.
 */
export async function openBlob(d: BlobDownload): Promise<Readable> {
  const ctx: RegistryOpContext = { registry: d.endpoint.registry, repository: d.repository, op: `get blob ${d.desc.digest}` }
  const path = `/v2/${d.repository}/blobs/${d.desc.digest}`
  const request = (offset: number) =>
    d.transport.send(d.endpoint, {
      method: 'GET',
      url: path,
      headers: { 'accept-encoding': 'identity', ...(offset > 0 ? { range: `bytes=${offset}-` } : {}) },
      scopes: d.scopes,
      ctx,
      ok: [200, 206],
      what: `blob ${d.desc.digest}`,
      signal: d.signal,
    })
  const first = await request(d.start)
  return Readable.from(body(d, ctx, first, request), { objectMode: false })
}

async function* body(d: BlobDownload, ctx: RegistryOpContext, first: Response, request: (offset: number) => Promise<Response>): AsyncGenerator<Uint8Array> {
  const o = d.transport.options
  const hash = d.start === 0 ? createHash('sha256') : undefined
  let offset = d.start
  let res = first
  let failures = 0
  for (;;) {
    // A server that ignores Range answers 200 with the whole blob: skip what we already have.
    let skip = res.status === 200 ? offset : 0
    if (res.status === 206) checkContentRange(res, offset, ctx)
    try {
      for await (const raw of (res.body ?? []) as AsyncIterable<Uint8Array>) {
        let chunk = raw
        if (skip > 0) {
          const n = Math.min(skip, chunk.length)
          skip -= n
          chunk = chunk.subarray(n)
          if (chunk.length === 0) continue
        }
        if (d.desc.size !== undefined && offset + chunk.length > d.desc.size) {
          throw new FailedPreconditionError(`${where(ctx)}: the registry sent more than the expected ${d.desc.size} bytes`, {
            code: 'ERR_REGISTRY_SIZE_MISMATCH',
          })
        }
        hash?.update(chunk)
        offset += chunk.length
        failures = 0
        yield chunk
      }
      break
    } catch (err) {
      if (d.signal?.aborted) throw d.signal.reason
      const own = findCause(err, CairnError)
      if (own) throw own
      if (!isConnectionReset(err)) throw errorFromNetwork(ctx, `${d.endpoint.base}/v2/${d.repository}/blobs/${d.desc.digest}`, err)
      if (d.desc.size !== undefined && offset === d.desc.size) break
      failures++
      if (failures >= o.retry.attempts) throw errorFromNetwork(ctx, `${d.endpoint.base}/v2/${d.repository}/blobs/${d.desc.digest}`, err)
      await o.sleep(backoffMs(failures, o.retry, o.random), d.signal)
      res = await request(offset)
    }
  }
  if (d.desc.size !== undefined && offset !== d.desc.size) {
    throw new FailedPreconditionError(`${where(ctx)}: got ${offset} bytes, expected ${d.desc.size}`, { code: 'ERR_REGISTRY_SIZE_MISMATCH' })
  }
  if (hash) {
    const got = `sha256:${hash.digest('hex')}`
    if (got !== d.desc.digest) {
      throw new FailedPreconditionError(`${where(ctx)}: content digest mismatch: got ${got}`, {
        code: 'ERR_REGISTRY_DIGEST_MISMATCH',
        hint: 'the registry returned different content than its digest names; the blob may be corrupt there',
      })
    }
  }
}

function checkContentRange(res: Response, offset: number, ctx: RegistryOpContext): void {
  const cr = res.headers.get('content-range')
  const m = cr ? /^bytes\s+(\d+)-/.exec(cr) : null
  if (m && Number(m[1]) !== offset) {
    throw new CairnError('ERR_REGISTRY_PROTOCOL', `${where(ctx)}: asked for bytes from ${offset}, got Content-Range ${cr}`)
  }
}

/** Deterministic pseudo-random bytes (xorshift32 per word), streamed so big blobs never sit in memory. Test-only. */
import { createHash } from 'node:crypto'
import { Readable } from 'node:stream'
import type { Digest } from '../core/digest.ts'

/** Fills `buf` from the state; returns the next state. */
function fill(buf: Buffer, state: number): number {
  let s = state >>> 0 || 0x9e3779b9
  const words = buf.length >>> 2
  for (let i = 0; i < words; i++) {
    s ^= s << 13
    s >>>= 0
    s ^= s >>> 17
    s ^= s << 5
    s >>>= 0
    buf.writeUInt32LE(s, i * 4)
  }
  for (let i = words * 4; i < buf.length; i++) {
    s = (Math.imul(s, 1103515245) + 12345) >>> 0
    buf[i] = s >>> 24
  }
  return s
}

/** A stream of `size` seeded bytes in `chunkSize` chunks. */
export function prngStream(seed: number, size: number, chunkSize = 1 << 16): Readable {
  let left = size
  let state = seed
  return new Readable({
    highWaterMark: chunkSize,
    read() {
      if (left <= 0) {
        this.push(null)
        return
      }
      const n = Math.min(chunkSize, left)
      const buf = Buffer.allocUnsafe(n)
      state = fill(buf, state)
      left -= n
      this.push(buf)
    },
  })
}

/** `size` seeded bytes in memory (small sizes only). */
export function prngBytes(seed: number, size: number): Buffer {
  const buf = Buffer.allocUnsafe(size)
  fill(buf, seed)
  return buf
}

/** Digest of prngStream(seed, size), computed by streaming. */
export async function prngDigest(seed: number, size: number, chunkSize = 1 << 16): Promise<Digest> {
  const h = createHash('sha256')
  for await (const chunk of prngStream(seed, size, chunkSize)) h.update(chunk as Buffer)
  return `sha256:${h.digest('hex')}` as Digest
}

import { Transform, type TransformCallback } from 'node:stream'
import type { LayerScanner } from '../layer/write-layer.ts'

/** A pass-through that shows every chunk to a scanner; a scanner that throws fails the stream with its error. */
export function scanTap(scan: LayerScanner): Transform {
  return new Transform({
    highWaterMark: 1024 * 1024,
    transform(chunk: Buffer, _enc: BufferEncoding, cb: TransformCallback) {
      try {
        scan(chunk)
      } catch (err) {
        cb(err as Error)
        return
      }
      cb(null, chunk)
    },
  })
}

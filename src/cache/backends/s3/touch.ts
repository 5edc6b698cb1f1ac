import {
  AbortMultipartUploadCommand,
  CompleteMultipartUploadCommand,
  CopyObjectCommand,
  CreateMultipartUploadCommand,
  type S3Client,
  UploadPartCopyCommand,
} from '@aws-sdk/client-s3'
import { sendOpts } from './client.ts'

/** CopyObject refuses sources of 5 GiB or more; larger objects are copied in ranges of this size. */
export const MAX_COPY_OBJECT_SIZE = 5 * 1024 * 1024 * 1024

/** `x-amz-copy-source` value: `bucket/key`, URL-encoded except for `/` and `:` (as S3 clients send it). */
export function copySource(bucket: string, key: string): string {
  const enc = (s: string): string => encodeURIComponent(s).replace(/%2F/gi, '/').replace(/%3A/gi, ':')
  return `${enc(bucket)}/${enc(key)}`
}

/** The inclusive byte ranges UploadPartCopy needs for an object of `size` bytes. */
export function copyRanges(size: number, rangeSize = MAX_COPY_OBJECT_SIZE): string[] {
  const out: string[] = []
  for (let start = 0; start < size; start += rangeSize) out.push(`bytes=${start}-${Math.min(start + rangeSize, size) - 1}`)
  return out
}

export interface TouchOptions {
  client: S3Client
  bucket: string
  key: string
  size: number
  contentType: string | undefined
  now: Date
  signal?: AbortSignal | undefined
  /** Objects at or above this size use a multipart copy (tests lower it). */
  copyLimit?: number
}

/**
 * Refreshes an object's LastModified the way BuildKit does: copy it onto itself with
 * `MetadataDirective: REPLACE` and user metadata `updated-at: <now>`; objects too large for
 * CopyObject are re-assembled with UploadPartCopy in 5 GiB ranges (aborted on any failure, so a
 * failed touch never replaces the object). The content type is carried over.
 */
export async function touchObject(o: TouchOptions): Promise<void> {
  const send = sendOpts(o.signal)
  const Metadata = { 'updated-at': o.now.toISOString() }
  const src = copySource(o.bucket, o.key)
  const common = { Bucket: o.bucket, Key: o.key, ...(o.contentType ? { ContentType: o.contentType } : {}) }
  const limit = o.copyLimit ?? MAX_COPY_OBJECT_SIZE
  if (o.size < limit) {
    await o.client.send(new CopyObjectCommand({ ...common, CopySource: src, MetadataDirective: 'REPLACE', Metadata }), send)
    return
  }
  const created = await o.client.send(new CreateMultipartUploadCommand({ ...common, Metadata }), send)
  const UploadId = created.UploadId
  try {
    const parts: { ETag: string; PartNumber: number }[] = []
    let PartNumber = 1
    for (const range of copyRanges(o.size, limit)) {
      const r = await o.client.send(
        new UploadPartCopyCommand({ Bucket: o.bucket, Key: o.key, UploadId, PartNumber, CopySource: src, CopySourceRange: range }),
        send,
      )
      parts.push({ ETag: r.CopyPartResult?.ETag ?? '', PartNumber })
      PartNumber++
    }
    await o.client.send(new CompleteMultipartUploadCommand({ Bucket: o.bucket, Key: o.key, UploadId, MultipartUpload: { Parts: parts } }), send)
  } catch (e) {
    await o.client.send(new AbortMultipartUploadCommand({ Bucket: o.bucket, Key: o.key, UploadId })).catch(() => undefined)
    throw e
  }
}

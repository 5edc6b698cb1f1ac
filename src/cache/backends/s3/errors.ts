import { CairnError, NotFoundError, UnavailableError } from '../../../core/errors.ts'

/** Replaces every known secret value in a string with `[redacted]`. */
export type Redactor = (s: string) => string

/** A redactor for these secret values (values shorter than 4 characters are ignored). */
export function secretRedactor(secrets: readonly (string | undefined)[]): Redactor {
  const values = [...new Set(secrets.filter((s): s is string => typeof s === 'string' && s.length >= 4))].sort((a, b) => b.length - a.length)
  return (s) => {
    let out = s
    for (const v of values) out = out.split(v).join('[redacted]')
    // Presigned-style query credentials, should an SDK message ever carry a URL.
    return out.replace(/((?:X-Amz-Security-Token|X-Amz-Signature|X-Amz-Credential)=)[^&\s]+/gi, '$1[redacted]')
  }
}

const AUTH_CODES = new Set([
  'AccessDenied',
  'InvalidAccessKeyId',
  'SignatureDoesNotMatch',
  'ExpiredToken',
  'InvalidToken',
  'TokenRefreshRequired',
  'AllAccessDisabled',
  'AccountProblem',
  'Forbidden',
])
const THROTTLE_CODES = new Set([
  'SlowDown',
  'Throttling',
  'ThrottlingException',
  'RequestTimeout',
  'RequestTimeTooSkewed',
  'ServiceUnavailable',
  'InternalError',
  'TimeoutError',
])
const NET_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ENOTFOUND', 'EAI_AGAIN', 'ETIMEDOUT', 'EPIPE', 'ECONNABORTED', 'EHOSTUNREACH'])

interface SdkErrorShape {
  name?: string
  message?: string
  code?: string
  Code?: string
  $metadata?: { httpStatusCode?: number; requestId?: string }
}

/** The S3 error code (`NoSuchKey`, `AccessDenied`...) and HTTP status of an SDK error, if any. */
export function s3ErrorCode(err: unknown): { code: string | undefined; status: number | undefined } {
  const e = (err ?? {}) as SdkErrorShape
  return { code: e.Code ?? e.name ?? e.code, status: e.$metadata?.httpStatusCode }
}

export const isS3NotFound = (err: unknown): boolean => {
  const { code, status } = s3ErrorCode(err)
  return code === 'NoSuchKey' || code === 'NotFound' || (status === 404 && code !== 'NoSuchBucket')
}

export interface S3ErrorContext {
  /** What was being done: `stat blob sha256:…`, `write ref buildkit`. */
  op: string
  /** `s3://bucket/key`. */
  uri: string
  redact: Redactor
  signal?: AbortSignal | undefined
}

/**
 * Turns an SDK error into a CairnError naming the object and the remedy. The SDK error is not kept
 * as `cause` (request metadata may carry tokens); its code, status and request id go to `details`.
 */
export function s3Error(err: unknown, ctx: S3ErrorContext): Error {
  if (ctx.signal?.aborted)
    return ctx.signal.reason instanceof Error ? ctx.signal.reason : new CairnError('ERR_ABORTED', `s3 cache: ${ctx.op} ${ctx.uri}: aborted`)
  if (err instanceof CairnError) return err
  const e = (err ?? {}) as SdkErrorShape & { errno?: number }
  const { code, status } = s3ErrorCode(err)
  const netCode = typeof e.code === 'string' && NET_CODES.has(e.code) ? e.code : undefined
  const details: Record<string, unknown> = { s3Code: code, status, requestId: e.$metadata?.requestId, ...(netCode ? { errno: netCode } : {}) }
  const what = `s3 cache: ${ctx.op} ${ctx.uri}`
  const raw = ctx.redact(String(e.message ?? err))
  const detail = raw && raw !== code ? `: ${raw}` : ''
  if (code === 'NoSuchBucket') {
    return new NotFoundError(`${what}: bucket does not exist`, {
      code: 'ERR_CACHE_S3_NO_BUCKET',
      hint: 'create the bucket, or fix bucket= (and region=/endpoint_url=)',
      details,
    })
  }
  if ((code !== undefined && AUTH_CODES.has(code)) || status === 401 || status === 403) {
    return new CairnError('ERR_CACHE_S3_ACCESS_DENIED', `${what}: access denied (${code ?? status})${detail}`, {
      hint: 'check the credentials (access_key_id/secret_access_key/session_token, or the AWS default chain: env, profile, web identity, instance role) and that the bucket policy allows this operation',
      details,
    })
  }
  if (code === 'CredentialsProviderError') {
    return new CairnError('ERR_CACHE_S3_NO_CREDENTIALS', `${what}: no AWS credentials found${detail}`, {
      hint: 'pass access_key_id= and secret_access_key=, or configure the AWS default chain (AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, a profile, web identity or an instance role)',
      details,
    })
  }
  if (isS3NotFound(err)) return new NotFoundError(`${what}: not found`, { details })
  if (netCode !== undefined) {
    return new UnavailableError(`${what}: cannot reach the endpoint (${netCode})`, { hint: 'check endpoint_url/region and the network, then retry', details })
  }
  if ((code !== undefined && THROTTLE_CODES.has(code)) || (status !== undefined && (status === 429 || status >= 500))) {
    return new UnavailableError(`${what}: service unavailable (${code ?? status})${detail}`, {
      hint: 'S3 is throttling or failing; retry later or lower upload_parallelism',
      details,
    })
  }
  return new CairnError('ERR_CACHE_S3', `${what}: ${code ?? 'error'}${detail}`, { details })
}

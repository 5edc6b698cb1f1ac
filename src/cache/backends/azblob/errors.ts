import { CairnError, NotFoundError, UnavailableError } from '../../../core/errors.ts'

export type Redactor = (s: string) => string

/**
 * Redacts the given secret values plus anything shaped like an Azure secret: SAS signatures
 * (`sig=`), `AccountKey=`/`SharedAccessSignature=` in connection strings, SharedKey headers.
 */
export function azureRedactor(secrets: readonly (string | undefined)[]): Redactor {
  const values = [...new Set(secrets.filter((s): s is string => typeof s === 'string' && s.length >= 4))].sort((a, b) => b.length - a.length)
  return (s) => {
    let out = s
    for (const v of values) out = out.split(v).join('[redacted]')
    return out
      .replace(/([?&]sig=)[^&\s"']+/gi, '$1[redacted]')
      .replace(/(AccountKey=|SharedAccessSignature=)[^;\s"']+/gi, '$1[redacted]')
      .replace(/(SharedKey(?:Lite)? [^:\s]+:)[^\s"']+/g, '$1[redacted]')
  }
}

interface RestErrorShape {
  name?: string
  message?: string
  code?: string
  statusCode?: number
  details?: { errorCode?: string; requestId?: string }
}

/** The storage error code (`BlobNotFound`, `AuthenticationFailed`...) and HTTP status, if any. */
export function azErrorCode(err: unknown): { code: string | undefined; status: number | undefined } {
  const e = (err ?? {}) as RestErrorShape
  return { code: e.details?.errorCode ?? e.code, status: e.statusCode }
}

export const isAzNotFound = (err: unknown): boolean => {
  const { code, status } = azErrorCode(err)
  return status === 404 || code === 'BlobNotFound' || code === 'ContainerNotFound'
}

const AUTH_CODES = new Set([
  'AuthenticationFailed',
  'AuthorizationFailure',
  'AuthorizationPermissionMismatch',
  'AuthorizationResourceTypeMismatch',
  'InvalidAuthenticationInfo',
  'NoAuthenticationInformation',
  'InsufficientAccountPermissions',
])
const NET_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ENOTFOUND', 'EAI_AGAIN', 'ETIMEDOUT', 'EPIPE', 'ECONNABORTED', 'EHOSTUNREACH', 'REQUEST_SEND_ERROR'])

export interface AzErrorContext {
  op: string
  /** `azblob://account/container/name`. */
  uri: string
  redact: Redactor
  signal?: AbortSignal | undefined
}

/**
 * Turns an Azure SDK error into a CairnError naming the blob and the remedy. The SDK error is not
 * kept as `cause` (its request carries the SAS URL and auth headers); code, status and request id
 * go to `details`.
 */
export function azError(err: unknown, ctx: AzErrorContext): Error {
  if (ctx.signal?.aborted)
    return ctx.signal.reason instanceof Error ? ctx.signal.reason : new CairnError('ERR_ABORTED', `azblob cache: ${ctx.op} ${ctx.uri}: aborted`)
  if (err instanceof CairnError) return err
  const e = (err ?? {}) as RestErrorShape
  const { code, status } = azErrorCode(err)
  const details: Record<string, unknown> = { azureCode: code, status, requestId: e.details?.requestId }
  const what = `azblob cache: ${ctx.op} ${ctx.uri}`
  const first = ctx.redact(String(e.message ?? err).split('\n')[0] ?? '')
  const detail = first && first !== code ? `: ${first}` : ''
  if (status === 401 || status === 403 || (code !== undefined && AUTH_CODES.has(code))) {
    return new CairnError('ERR_CACHE_AZBLOB_ACCESS_DENIED', `${what}: access denied (${code ?? status})${detail}`, {
      hint: 'check account_name and secret_access_key, or the SAS token in account_url (permissions rwc on the container, expiry), or AZURE_STORAGE_CONNECTION_STRING',
      details,
    })
  }
  if (code === 'ContainerNotFound') {
    return new NotFoundError(`${what}: container does not exist`, {
      code: 'ERR_CACHE_AZBLOB_NO_CONTAINER',
      hint: 'create the container or fix container= (the credentials could not create it)',
      details,
    })
  }
  if (isAzNotFound(err)) return new NotFoundError(`${what}: not found`, { details })
  if ((code !== undefined && NET_CODES.has(code)) || (status !== undefined && (status === 408 || status === 429 || status >= 500))) {
    return new UnavailableError(`${what}: service unavailable (${code ?? status})${detail}`, {
      hint: 'check account_url and the network, or retry later',
      details,
    })
  }
  return new CairnError('ERR_CACHE_AZBLOB', `${what}: ${code ?? 'error'}${detail}`, { details })
}

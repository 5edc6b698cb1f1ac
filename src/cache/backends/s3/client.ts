import { S3Client, type S3ClientConfig } from '@aws-sdk/client-s3'
import type { ResolvedS3Config } from './config.ts'

export type Env = Readonly<Record<string, string | undefined>>

/** Where the credentials come from, for debug logs (never the values). */
export type CredentialSource = 'attributes' | 'env' | 'default-chain'

/**
 * Builds the SDK client. Credentials, in BuildKit's order: the static attributes (only when both
 * id and secret are set); then AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY/AWS_SESSION_TOKEN from the
 * injected env; otherwise the SDK default provider chain (shared config/credentials files and
 * profiles — AWS_PROFILE from the injected env is passed on —, web identity, ECS, IMDS). Note that
 * the SDK's chain itself reads the process environment for its file/web-identity settings.
 *
 * Request checksums are only sent when an operation requires them (as BuildKit does): S3-compatible
 * stores often reject the SDK's default CRC trailers, and cairn verifies sha256 digests itself.
 */
export function createS3Client(c: ResolvedS3Config, env: Env): { client: S3Client; source: CredentialSource } {
  const opts: S3ClientConfig = {
    region: c.region,
    maxAttempts: c.retryMaxAttempts,
    retryMode: c.retryMode,
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
  }
  if (c.endpointUrl !== undefined) {
    opts.endpoint = c.endpointUrl
    opts.forcePathStyle = c.usePathStyle
  }
  let source: CredentialSource = 'default-chain'
  if (c.accessKeyId !== undefined && c.secretAccessKey !== undefined) {
    source = 'attributes'
    opts.credentials = { accessKeyId: c.accessKeyId, secretAccessKey: c.secretAccessKey, ...(c.sessionToken ? { sessionToken: c.sessionToken } : {}) }
  } else if (env.AWS_ACCESS_KEY_ID && env.AWS_SECRET_ACCESS_KEY) {
    source = 'env'
    opts.credentials = {
      accessKeyId: env.AWS_ACCESS_KEY_ID,
      secretAccessKey: env.AWS_SECRET_ACCESS_KEY,
      ...(env.AWS_SESSION_TOKEN ? { sessionToken: env.AWS_SESSION_TOKEN } : {}),
    }
  } else if (env.AWS_PROFILE) {
    opts.profile = env.AWS_PROFILE
  }
  return { client: new S3Client(opts), source }
}

/** Per-request options for `client.send` (exactOptionalPropertyTypes-safe). */
export const sendOpts = (signal: AbortSignal | undefined): { abortSignal?: AbortSignal } => (signal ? { abortSignal: signal } : {})

export { type ResolvedS3Config, resolveS3Config, type S3TransportConfig, s3BlobKey, s3ManifestKey } from './config.ts'
export { createS3Transport, MAX_REF_SIZE, type S3TransportDeps } from './transport.ts'

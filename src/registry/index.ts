/** OCI distribution client: see client.ts for the contract. */

export { normalizeScopes, parseChallenges } from './auth.ts'
export type { BlobBody } from './blob-upload.ts'
export type { CallOptions, PutBlobOptions, RegistryClient, RegistryClientOptions, RegistryRepository } from './client.ts'
export { createRegistryClient, isLoopbackHost, registryHost } from './client.ts'
export type { CredentialHelperRunner, CredentialStore, DockerConfigOptions, RegistryCredential } from './credentials.ts'
export { authKeyFor, createDockerConfigCredentials, DOCKER_HUB_AUTH_KEY, spawnCredentialHelper, staticCredentials } from './credentials.ts'
export { RegistryAuthError, redact } from './errors.ts'
export type { ManifestInfo, ManifestResult } from './manifests.ts'
export { ALL_MANIFEST_TYPES, MANIFEST_LIMIT } from './manifests.ts'
export type { RetryPolicy, SleepFn } from './retry.ts'
export { DEFAULT_RETRY } from './retry.ts'

export { type AzblobTransportConfig, azBlobName, azManifestName, goPathJoin, type ResolvedAzblobConfig, resolveAzblobConfig } from './config.ts'
export { type AzblobTransportDeps, createAzblobTransport, MAX_REF_SIZE } from './transport.ts'

export { type GhaTransportConfig, parseGhaAttrs, parseGoDuration, type ResolvedGhaConfig, resolveGhaConfig } from './config.ts'
export { blobKey, GHA_CACHE_VERSION, indexKey, scopeHash } from './keys.ts'
export { type GithubScope, parseRuntimeToken, type RuntimeTokenClaims } from './token.ts'
export { createGhaTransport, type GhaIndexEntry, type GhaTransport, type GhaTransportDeps } from './transport.ts'

/** THE cache wire format (BuildKit cacheconfig v0): pure types, encoders and decoders. See README.md. */

export { CacheGraphBuilder, type InputSpec } from './builder.ts'
export { checkSize, type DecodeOptions, decodeCacheConfig } from './decode.ts'
export { type DecodedConfigDocument, decodeConfigDocument, encodeConfigDocument } from './document.ts'
export { type EncodedCacheConfig, encodeCacheConfig } from './encode.ts'
export { decodeInlineCache, encodeInlineCache, type InlineDecodeResult } from './inline.ts'
export * from './media.ts'
export { compareTimes, formatGoTime, type GoTime, goTimeFromDate, normalizeTime, parseGoTime } from './time.ts'
export * from './types.ts'
export { parseDescriptor, type Unwrapped, unwrap, type WrapOptions, type WrappedManifest, type WrapperForm, wrapManifest, wrapperForm } from './wrappers.ts'

/** `--cache-to` / `--cache-from` parsing (pure). */

export { ATTRS, type AttrDef, SECRET_ATTRS } from './attrs.ts'
export { type ParseCacheOptions, parseCacheSpec, parseCacheSpecs } from './parse.ts'
export { formatSpec, redactSpec } from './redact.ts'
export * from './types.ts'
export { parseGoBool, parseGoDuration } from './values.ts'

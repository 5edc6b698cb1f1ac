/**
 * `--cache-to` / `--cache-from` parsing with buildx's rules (util/buildflags/cache.go): a value
 * without any `=` is a CSV list of registry refs (`--cache-from user/app:cache`); otherwise it is
 * one CSV record of `key=value` fields (keys lower-cased, last wins, double-quote a field holding
 * commas: `type=local,"dest=a,b"`) that must name a `type`. Unknown types and attributes are
 * rejected with the valid list; values are validated; defaults and `$ENV` fallbacks (from the
 * injected env, never process.env) are applied.
 */
import { parseCsvAttrs, splitCsv } from '../../core/csv.ts'
import { InvalidArgumentError } from '../../core/errors.ts'
import { ATTRS } from './attrs.ts'
import { AttrReader } from './reader.ts'
import { resolveInline, resolveLocal, resolveRegistry } from './resolve-basic.ts'
import { fillAzblobEnv, fillGhaEnv, fillS3Env, resolveAzblob, resolveGha, resolveS3 } from './resolve-remote.ts'
import { CACHE_TYPES, type CacheDirection, type CacheExportSpec, type CacheImportSpec, type CacheSpec, type CacheSpecEnv, type CacheType } from './types.ts'

export interface ParseCacheOptions {
  /** Environment for `$ACTIONS_*`, `$AWS_*`, `$BUILDKIT_AZURE_STORAGE_*` defaults. */
  env?: CacheSpecEnv
}

const flag = (dir: CacheDirection): string => (dir === 'export' ? '--cache-to' : '--cache-from')

/** Parses one flag value into one or more entries (the shorthand may list several refs). */
export function parseCacheSpec(value: string, dir: 'export', o?: ParseCacheOptions): CacheExportSpec[]
export function parseCacheSpec(value: string, dir: 'import', o?: ParseCacheOptions): CacheImportSpec[]
export function parseCacheSpec(value: string, dir: CacheDirection, o: ParseCacheOptions = {}): CacheSpec[] {
  const what = flag(dir)
  const trimmed = value.replace(/\r?\n$/, '')
  if (!trimmed.includes('=')) {
    const refs = splitCsv(trimmed, what)
    if (refs.length === 0) throw new InvalidArgumentError(`${what}: empty value`, { hint: 'e.g. type=registry,ref=<image>:buildcache' })
    return refs.map((ref) => resolveEntry('registry', { ref }, dir, o.env ?? {}, `${what} ${ref}`))
  }
  const attrs = Object.fromEntries(parseCsvAttrs(trimmed, what))
  const type = attrs.type
  if (type === undefined || type === '')
    throw new InvalidArgumentError(`${what}: type required for ${JSON.stringify(trimmed.length > 60 ? `${trimmed.slice(0, 60)}…` : trimmed)}`, {
      hint: `start with type=<${CACHE_TYPES.join('|')}>`,
    })
  if (!(CACHE_TYPES as readonly string[]).includes(type)) {
    throw new InvalidArgumentError(`${what}: unknown cache type ${JSON.stringify(type)}`, { hint: `valid types: ${CACHE_TYPES.join(', ')}` })
  }
  delete attrs.type
  return [resolveEntry(type as CacheType, attrs, dir, o.env ?? {}, `${what} type=${type}`)]
}

/** Parses every value of a repeated flag and drops exact duplicates (buildx removeDupes). */
export function parseCacheSpecs(values: readonly string[], dir: 'export', o?: ParseCacheOptions): CacheExportSpec[]
export function parseCacheSpecs(values: readonly string[], dir: 'import', o?: ParseCacheOptions): CacheImportSpec[]
export function parseCacheSpecs(values: readonly string[], dir: CacheDirection, o: ParseCacheOptions = {}): CacheSpec[] {
  const out: CacheSpec[] = []
  const seen = new Set<string>()
  for (const v of values) {
    for (const s of dir === 'export' ? parseCacheSpec(v, 'export', o) : parseCacheSpec(v, 'import', o)) {
      const key = JSON.stringify([s.type, Object.entries(s.attrs).sort()])
      if (seen.has(key)) continue
      seen.add(key)
      out.push(s)
    }
  }
  return out
}

function resolveEntry(type: CacheType, given: Record<string, string>, dir: CacheDirection, env: CacheSpecEnv, where: string): CacheSpec {
  const defs = ATTRS[type]
  const ignoredAttrs: { name: string; reason: string }[] = []
  for (const name of Object.keys(given)) {
    const def = defs[name]
    if (!def) {
      const valid = Object.entries(defs)
        .filter(([, d]) => d.dir === 'both' || d.dir === dir)
        .map(([k]) => k)
      throw new InvalidArgumentError(`${where}: unknown attribute ${JSON.stringify(name)}`, {
        hint: valid.length > 0 ? `valid attributes for type=${type} in ${flag(dir)}: ${valid.join(', ')}` : `type=${type} takes no attributes`,
      })
    }
    if (def.ignored) ignoredAttrs.push({ name, reason: def.ignored })
    else if (def.dir !== 'both' && def.dir !== dir) ignoredAttrs.push({ name, reason: `only used by ${flag(def.dir)}` })
  }
  const attrs = { ...given }
  if (type === 'gha') fillGhaEnv(attrs, env)
  if (type === 's3') fillS3Env(attrs, env)
  if (type === 'azblob') fillAzblobEnv(attrs, env)
  const r = new AttrReader(attrs, where)
  const base = { attrs, ignoredAttrs }
  switch (type) {
    case 'local':
      return resolveLocal(r, dir, base)
    case 'registry':
      return resolveRegistry(r, dir, base)
    case 'inline':
      return resolveInline(r, dir, base)
    case 'gha':
      return resolveGha(r, dir, base)
    case 's3':
      return resolveS3(r, dir, base)
    case 'azblob':
      return resolveAzblob(r, dir, base)
  }
}

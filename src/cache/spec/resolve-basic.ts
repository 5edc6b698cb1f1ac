/** Resolution of the `local`, `registry` and `inline` entries. */
import { parseDigest } from '../../core/digest.ts'
import { InvalidArgumentError } from '../../core/errors.ts'
import { normalizeImageName } from '../../oci/reference.ts'
import type { AttrReader } from './reader.ts'
import type { CacheDirection, ResolvedInlineExport, ResolvedLocalExport, ResolvedLocalImport, ResolvedRegistryExport, ResolvedRegistryImport } from './types.ts'

type Base = { attrs: Record<string, string>; ignoredAttrs: { name: string; reason: string }[] }

const TAG_RE = /^[\w][\w.-]{0,127}$/

function tagOf(r: AttrReader): string {
  const tag = r.attrs.tag === undefined ? 'latest' : r.attrs.tag
  if (tag === '') throw new InvalidArgumentError(`${r.where}: requires either explicit digest, "latest" tag or custom tag`)
  if (!TAG_RE.test(tag))
    throw new InvalidArgumentError(`${r.what('tag')}: invalid tag ${JSON.stringify(tag)}`, {
      hint: 'tags are up to 128 characters of [A-Za-z0-9_.-], not starting with . or -',
    })
  return tag
}

export function resolveLocal(r: AttrReader, dir: CacheDirection, base: Base): ResolvedLocalExport | ResolvedLocalImport {
  if (dir === 'export') {
    const dest = r.required('dest', 'pass dest=<directory> (created if missing)')
    return {
      type: 'local',
      ...base,
      dest,
      tag: tagOf(r),
      reset: r.bool('reset', false),
      ...r.exportOptions(),
      ...r.compressionOptions(),
      ...r.wrapperOptions(),
    }
  }
  const src = r.required('src', 'pass src=<directory written by --cache-to type=local,dest=…>')
  const d = r.get('digest')
  const digest = d === undefined ? undefined : parseDigest(d, `${r.what('digest')}`)
  return { type: 'local', ...base, src, tag: digest ? (r.get('tag') ?? 'latest') : tagOf(r), digest }
}

export function resolveRegistry(r: AttrReader, dir: CacheDirection, base: Base): ResolvedRegistryExport | ResolvedRegistryImport {
  const raw = r.required('ref', 'pass ref=<registry>/<repository>:<tag>')
  let ref: string
  try {
    ref = normalizeImageName(raw)
  } catch (err) {
    throw new InvalidArgumentError(`${r.what('ref')}: invalid reference ${JSON.stringify(raw)}`, {
      cause: err,
      hint: 'e.g. ref=registry.example.com/team/app:buildcache',
    })
  }
  const insecure = r.bool('registry.insecure', false)
  if (dir === 'import') return { type: 'registry', ...base, ref, insecure }
  return { type: 'registry', ...base, ref, insecure, ...r.exportOptions(), ...r.compressionOptions(), ...r.wrapperOptions() }
}

export function resolveInline(r: AttrReader, dir: CacheDirection, base: Base): ResolvedInlineExport {
  if (dir === 'import') {
    throw new InvalidArgumentError(`${r.where}: there is no inline cache importer`, {
      hint: 'import an inline cache with --cache-from type=registry,ref=<image> (or just --cache-from <image>)',
    })
  }
  return { type: 'inline', ...base }
}

import { InvalidArgumentError } from '../core/errors.ts'
import { parseCsvAttrs } from '../core/csv.ts'

export type OutputSpec =
  | { type: 'oci' | 'docker'; dest: string; compression: 'gzip' | 'zstd' | 'uncompressed'; names: string[] }
  | { type: 'local'; dest: string }
  | { type: 'image'; names: string[]; push: boolean }
  | { type: 'cacheonly' }

const TYPES = ['oci', 'docker', 'local', 'image', 'registry', 'tar', 'cacheonly']

/** Parses one `-o/--output` value the way buildx does (CSV attributes; a bare path means type=local). */
export function parseOutputSpec(value: string): OutputSpec {
  if (!value.includes('=')) {
    if (value === '-') throw new InvalidArgumentError('output "-" (a tar on stdout) is not supported yet', { hint: 'use -o type=oci,dest=FILE.tar' })
    return { type: 'local', dest: value }
  }
  const attrs = parseCsvAttrs(value, 'output')
  const type = attrs.get('type') ?? 'local'
  const known = (keys: string[]) => {
    for (const k of attrs.keys()) {
      if (k !== 'type' && !keys.includes(k)) throw new InvalidArgumentError(`output type=${type}: unknown attribute "${k}"`, { hint: `valid attributes: ${keys.join(', ')}` })
    }
  }
  const dest = () => {
    const d = attrs.get('dest')
    if (!d) throw new InvalidArgumentError(`output type=${type} needs dest=PATH`, { hint: `e.g. -o type=${type},dest=${type === 'local' ? './out' : 'image.tar'}` })
    return d
  }
  const names = () => (attrs.get('name') ?? '').split(',').map((s) => s.trim()).filter(Boolean)
  switch (type) {
    case 'oci':
    case 'docker': {
      known(['dest', 'name', 'compression', 'oci-mediatypes', 'compression-level', 'force-compression'])
      const c = attrs.get('compression') ?? 'gzip'
      if (c !== 'gzip' && c !== 'zstd' && c !== 'uncompressed') throw new InvalidArgumentError(`output type=${type}: compression=${c} is not one of gzip, zstd, uncompressed`)
      return { type, dest: dest(), compression: c, names: names() }
    }
    case 'local':
    case 'tar':
      known(['dest'])
      return { type: 'local', dest: dest() }
    case 'image':
    case 'registry':
      known(['name', 'push', 'compression', 'oci-mediatypes', 'store', 'unpack'])
      return { type: 'image', names: names(), push: type === 'registry' || attrs.get('push') === 'true' }
    case 'cacheonly':
      return { type: 'cacheonly' }
    default:
      throw new InvalidArgumentError(`unknown output type "${type}"`, { hint: `valid types: ${TYPES.join(', ')}` })
  }
}

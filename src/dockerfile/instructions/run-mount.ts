/**
 * `RUN --mount=<csv>` (BuildKit's commands_runmount.go plus the defaults its converter applies):
 * type defaults to bind; bind/secret/ssh are read-only by default, cache/tmpfs read-write; `ro`/`readonly`,
 * `rw`/`readwrite` override; cache sharing defaults to shared; a secret's id defaults to its source or the
 * basename of its target and its target to /run/secrets/<id> (unless it goes to an env variable).
 */
import { InvalidArgumentError } from '../../core/errors.ts'
import { didYouMean } from './suggest.ts'
import type { MountType, RunMount } from './types.ts'
import { csvFields, parseBool, parseRAMInBytes, parseUint32 } from './values.ts'

const MOUNT_TYPES: readonly MountType[] = ['bind', 'cache', 'tmpfs', 'secret', 'ssh']
const SHARING = ['shared', 'private', 'locked'] as const
const ALL_KEYS = [
  'type', 'from', 'source', 'target', 'readonly', 'id', 'sharing', 'required', 'size', 'mode', 'uid', 'gid',
  'src', 'dst', 'destination', 'ro', 'rw', 'readwrite', 'env',
]
/** Keys whose value must be understood now; with a `$` in it, it is left for the converter. */
const TYPED_KEYS = new Set(['type', 'readonly', 'ro', 'readwrite', 'rw', 'required', 'size', 'sharing', 'mode', 'uid', 'gid'])

const fail = (message: string, hint?: string) =>
  new InvalidArgumentError(message, hint === undefined ? {} : { hint })

const basename = (p: string): string => {
  const trimmed = p.replace(/\/+$/, '')
  if (trimmed === '') return p === '' ? '.' : '/'
  return trimmed.slice(trimmed.lastIndexOf('/') + 1)
}

export interface ParsedMount {
  mount: RunMount
  /** True when some value holds `$` and so depends on variable expansion. */
  needsExpansion: boolean
}

/**
 * Parses one `--mount` value. Without `expand`, values are taken as written and typed values that contain `$`
 * are skipped (reported by `needsExpansion`); with `expand`, every value is expanded first (the converter's
 * pass, BuildKit's RunCommand.Expand). Throws InvalidArgumentError.
 */
export function parseRunMount(spec: string, expand?: (word: string) => string): ParsedMount {
  let fields: string[]
  try {
    fields = csvFields(spec)
  } catch (err) {
    throw fail(`failed to parse csv mounts: ${(err as Error).message}`)
  }
  const m: Partial<RunMount> & { type: MountType } = { type: 'bind' }
  let readonly: boolean | undefined
  let needsExpansion = false
  let typeKnown = true

  for (const field of fields) {
    const eq = field.indexOf('=')
    const key = (eq < 0 ? field : field.slice(0, eq)).toLowerCase()
    if (eq < 0) {
      switch (key) {
        case 'readonly':
        case 'ro':
          readonly = true
          continue
        case 'readwrite':
        case 'rw':
          readonly = false
          continue
        case 'required':
          if (typeKnown && m.type !== 'secret' && m.type !== 'ssh') {
            throw fail(`unexpected key '${key}' for mount type '${m.type}'`)
          }
          m.required = true
          continue
        default:
          throw fail(`invalid field '${field}' must be a key=value pair`)
      }
    }
    let value = field.slice(eq + 1)
    if (expand) {
      value = expand(value)
    } else if (value.includes('$')) {
      needsExpansion = true
      if (key === 'from') {
        const idx = value.indexOf('$')
        if (idx !== value.length - 1) {
          throw fail(`'${key}' doesn't support variable expansion, define alias stage instead`)
        }
      } else if (TYPED_KEYS.has(key)) {
        if (key === 'type') typeKnown = false
        continue
      }
    }
    const bool = (): boolean => {
      const b = parseBool(value)
      if (b === undefined) throw fail(`invalid value for ${key}: ${value}`)
      return b
    }
    switch (key) {
      case 'type': {
        const t = value.toLowerCase() as MountType
        if (!MOUNT_TYPES.includes(t)) {
          throw new InvalidArgumentError(`unsupported mount type ${JSON.stringify(value)}`, didYouMean(value, MOUNT_TYPES))
        }
        m.type = t
        break
      }
      case 'from':
        m.from = value
        break
      case 'source':
      case 'src':
        m.source = value
        break
      case 'target':
      case 'dst':
      case 'destination':
        m.target = value
        break
      case 'readonly':
      case 'ro':
        readonly = bool()
        break
      case 'readwrite':
      case 'rw':
        readonly = !bool()
        break
      case 'required':
        if (typeKnown && m.type !== 'secret' && m.type !== 'ssh') {
          throw fail(`unexpected key '${key}' for mount type '${m.type}'`)
        }
        m.required = bool()
        break
      case 'size':
        if (typeKnown && m.type !== 'tmpfs') throw fail(`unexpected key '${key}' for mount type '${m.type}'`)
        try {
          m.size = parseRAMInBytes(value)
        } catch {
          throw fail(`invalid value for ${key}: ${value}`)
        }
        break
      case 'id':
        m.id = value
        break
      case 'sharing': {
        const s = value.toLowerCase() as (typeof SHARING)[number]
        if (!SHARING.includes(s)) {
          throw new InvalidArgumentError(`unsupported sharing value ${JSON.stringify(value)}`, didYouMean(value, SHARING))
        }
        m.sharing = s
        break
      }
      case 'mode':
      case 'uid':
      case 'gid': {
        const n = parseUint32(value, key === 'mode' ? 8 : 10)
        if (n === undefined) throw fail(`invalid value ${value} for ${key}`)
        m[key] = n
        break
      }
      case 'env':
        m.env = value
        break
      default:
        throw new InvalidArgumentError(`unexpected key '${key}' in '${field}'`, didYouMean(key, ALL_KEYS))
    }
  }

  if (typeKnown) validate(m)
  const type = m.type
  const mount: RunMount = { ...m, readonly: readonly ?? !(type === 'cache' || type === 'tmpfs') }
  if (type === 'cache' && mount.sharing === undefined) mount.sharing = 'shared'
  if (type === 'secret' && typeKnown && !needsExpansion) {
    const id = mount.source || mount.id || basename(mount.target ?? '')
    mount.id = id
    if (mount.env === undefined && !mount.target) mount.target = `/run/secrets/${basename(id)}`
  }
  if (type === 'ssh' && mount.id === undefined) mount.id = 'default'
  return { mount, needsExpansion }
}

function validate(m: Partial<RunMount> & { type: MountType }): void {
  const fileInfoAllowed = m.type === 'secret' || m.type === 'ssh' || m.type === 'cache'
  if (!fileInfoAllowed) {
    for (const k of ['mode', 'uid', 'gid'] as const) {
      if (m[k] !== undefined) throw fail(`${k} not allowed for ${JSON.stringify(m.type)} type mounts`)
    }
  }
  if (m.type === 'secret') {
    if (m.from) throw fail('secret mount should not have a from')
    if (m.sharing) throw fail('secret mount should not define sharing')
    if (!m.source && !m.target && !m.id) {
      throw fail('invalid secret mount. one of source, target required', 'add id=<secret id> or target=<path>')
    }
    if (m.source && m.id) throw fail("both source and id can't be set")
  }
  if (m.type === 'ssh' && m.source) throw fail('ssh does not support source')
  if (m.sharing && m.type !== 'cache') throw fail(`invalid cache sharing set for ${m.type} mount`)
}

/**
 * Variable lookup for the shell lexer. BuildKit's `EnvGetter`: a name → value lookup plus the list of keys
 * (used for "did you mean" suggestions in lint output). Keys are case-sensitive (Linux semantics).
 */
export interface EnvGetter {
  get(name: string): string | undefined
  keys(): Iterable<string>
}

/** Anything `envGetter` accepts: a record, a Map, `K=V` strings (a bare `K` means empty), or a getter. */
export type EnvSource = Readonly<Record<string, string>> | ReadonlyMap<string, string> | readonly string[] | EnvGetter

function isGetter(src: EnvSource): src is EnvGetter {
  return typeof (src as EnvGetter).get === 'function' && typeof (src as EnvGetter).keys === 'function'
}

/**
 * Builds an EnvGetter. With a `K=V` list a later entry wins over an earlier one (as in BuildKit's
 * `EnvsFromSlice`); keys are reported in their first-seen order.
 */
export function envGetter(src: EnvSource): EnvGetter {
  if (isGetter(src)) return src
  const map = new Map<string, string>()
  if (Array.isArray(src)) {
    for (const entry of src as readonly string[]) {
      const eq = entry.indexOf('=')
      if (eq < 0) map.set(entry, '')
      else map.set(entry.slice(0, eq), entry.slice(eq + 1))
    }
  } else if (src instanceof Map) {
    for (const [k, v] of src) map.set(k, v)
  } else {
    for (const [k, v] of Object.entries(src as Record<string, string>)) map.set(k, v)
  }
  return { get: (name) => map.get(name), keys: () => map.keys() }
}

/** An EnvGetter with no variables at all. */
export const emptyEnv: EnvGetter = { get: () => undefined, keys: () => [] }

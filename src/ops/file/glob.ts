import { readdir } from 'node:fs/promises'
import { join } from 'node:path'

/** True when a path uses Go filepath.Match wildcards (`*`, `?`, `[`). */
export const hasWildcard = (p: string): boolean => /[*?[]/.test(p)

const reCache = new Map<string, RegExp>()

/** Go filepath.Match for one path segment: `*`, `?`, `[a-z]`, `[^x]`, `\` escapes. */
export function matchSegment(pattern: string, name: string): boolean {
  let re = reCache.get(pattern)
  if (!re) {
    let src = ''
    for (let i = 0; i < pattern.length; i++) {
      const c = pattern[i] as string
      if (c === '*') src += '[^/]*'
      else if (c === '?') src += '[^/]'
      else if (c === '\\' && i + 1 < pattern.length) src += `\\${pattern[++i]}`
      else if (c === '[') {
        const end = pattern.indexOf(']', i + 2)
        if (end < 0) src += '\\['
        else {
          let body = pattern.slice(i + 1, end)
          if (body.startsWith('^')) body = `^${body.slice(1)}`
          src += `[${body.replace(/\\/g, '\\\\')}]`
          i = end
        }
      } else src += c.replace(/[.+^${}()|\]\\]/g, '\\$&')
    }
    re = new RegExp(`^${src}$`, 's')
    reCache.set(pattern, re)
  }
  return re.test(name)
}

/**
 * Expands a `/`-separated pattern (relative to `root`) to the matching relative paths, sorted.
 * `skip(rel)` hides entries (e.g. .dockerignore'd files).
 */
export async function expandGlob(root: string, pattern: string, skip: (rel: string, isDir: boolean) => boolean = () => false): Promise<string[]> {
  const parts = pattern.split('/').filter((p) => p !== '' && p !== '.')
  let current = ['']
  for (const part of parts) {
    const next: string[] = []
    for (const base of current) {
      if (!hasWildcard(part)) {
        next.push(base ? `${base}/${part}` : part)
        continue
      }
      const names = await readdir(join(root, base)).catch(() => [] as string[])
      for (const n of names.sort()) {
        const rel = base ? `${base}/${n}` : n
        if (matchSegment(part, n) && !skip(rel, false)) next.push(rel)
      }
    }
    current = next
  }
  return current
}

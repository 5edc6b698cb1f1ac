/** Go's `regexp.Regexp.Split(s, n)`, whose corner cases (leading and trailing separators) BuildKit relies on. */
export function goSplit(re: RegExp, s: string, n: number): string[] {
  if (n === 0) return []
  if (s.length === 0) return ['']
  const global = new RegExp(re.source, re.flags.includes('g') ? re.flags : `${re.flags}g`)
  const out: string[] = []
  let beg = 0
  let end = 0
  let count = 0
  for (const m of s.matchAll(global)) {
    if (n > 0 && count >= n) break
    count++
    if (n > 0 && out.length === n - 1) break
    end = m.index
    const mEnd = m.index + m[0].length
    if (mEnd !== 0) out.push(s.slice(beg, end))
    beg = mEnd
  }
  if (end !== s.length) out.push(s.slice(beg))
  return out
}

/** BuildKit's `reWhitespace`: runs of tab, vertical tab, form feed, carriage return and space. */
export const WHITESPACE = /[\t\v\f\r ]+/

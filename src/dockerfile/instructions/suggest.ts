/** "Did you mean" suggestions (BuildKit's util/suggest), used as error hints. */
function distance(a: string, b: string): number {
  const prev = Array.from({ length: b.length + 1 }, (_, i) => i)
  for (let i = 1; i <= a.length; i++) {
    let diag = prev[0] as number
    prev[0] = i
    for (let j = 1; j <= b.length; j++) {
      const up = prev[j] as number
      prev[j] = Math.min(up + 1, (prev[j - 1] as number) + 1, diag + (a[i - 1] === b[j - 1] ? 0 : 1))
      diag = up
    }
  }
  return prev[b.length] as number
}

/** The closest option within a small edit distance (case-insensitive), if any. */
export function suggest(value: string, options: Iterable<string>): string | undefined {
  const v = value.toLowerCase()
  let best: string | undefined
  let bestDist = Math.max(1, Math.min(3, Math.floor(v.length / 2)))
  for (const opt of options) {
    const o = opt.toLowerCase()
    if (v.length >= 3 && o.startsWith(v) && best === undefined) best = opt
    const d = distance(v, o)
    if (d <= bestDist && (best === undefined || d < bestDist)) {
      best = opt
      bestDist = d
    }
  }
  return best
}

export function didYouMean(value: string, options: Iterable<string>, format: (s: string) => string = (s) => s) {
  const s = suggest(value, options)
  return s === undefined ? {} : { hint: `did you mean ${format(s)}?` }
}

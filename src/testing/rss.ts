/** Runs `fn` while sampling RSS every 20 ms; returns its result, the peak growth over the start and the time it took. */
export async function withRss<T>(fn: () => Promise<T>): Promise<{ value: T; growth: number; ms: number }> {
  const base = process.memoryUsage().rss
  let peak = base
  const timer = setInterval(() => {
    peak = Math.max(peak, process.memoryUsage().rss)
  }, 20)
  const t0 = performance.now()
  try {
    const value = await fn()
    peak = Math.max(peak, process.memoryUsage().rss)
    return { value, growth: peak - base, ms: performance.now() - t0 }
  } finally {
    clearInterval(timer)
  }
}

/** Reads a (small) stream whole, for assertions. */
export async function readAll(r: AsyncIterable<Buffer | string>): Promise<Buffer> {
  const parts: Buffer[] = []
  for await (const c of r) parts.push(typeof c === 'string' ? Buffer.from(c) : c)
  return Buffer.concat(parts)
}

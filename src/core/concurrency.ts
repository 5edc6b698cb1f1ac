/** Runs `fn` over `items` with at most `limit` in flight; rejects with the first error (after in-flight calls settle). */
export async function mapLimit<T, U>(items: readonly T[], limit: number, fn: (item: T, index: number) => Promise<U>): Promise<U[]> {
  const out = new Array<U>(items.length)
  let next = 0
  let failed: { err: unknown } | undefined
  const worker = async () => {
    while (next < items.length && !failed) {
      const i = next++
      try {
        out[i] = await fn(items[i] as T, i)
      } catch (err) {
        failed ??= { err }
      }
    }
  }
  await Promise.all(Array.from({ length: Math.max(1, Math.min(limit, items.length)) }, worker))
  if (failed) throw failed.err
  return out
}

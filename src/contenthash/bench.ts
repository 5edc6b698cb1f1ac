// Benchmark (not a test): hashes a generated 2,000-file / 20 MB context as a no-op rebuild would.
//   node --import tsx src/contenthash/bench.ts [files] [totalMB]
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import { createContentHasher, createFileHashMemo, type HashMemo } from './index.ts'

const files = Number(process.argv[2] ?? 2000)
const totalMB = Number(process.argv[3] ?? 20)
const root = mkdtempSync(join(tmpdir(), 'cairn-chbench-'))
const out = (s: string) => process.stdout.write(`${s}\n`)

try {
  const ctx = join(root, 'ctx')
  const perFile = Math.floor((totalMB * 1024 * 1024) / files)
  let seed = 1
  for (let i = 0; i < files; i++) {
    const dir = join(ctx, `d${i % 20}`, `s${(i >> 5) % 5}`)
    mkdirSync(dir, { recursive: true })
    const size = Math.max(1, Math.round(perFile * (0.25 + ((i * 7919) % 100) / 66.7)))
    const buf = Buffer.allocUnsafe(size)
    for (let j = 0; j < size; j++) {
      seed = (seed * 1103515245 + 12345) >>> 0
      buf[j] = seed >>> 24
    }
    writeFileSync(join(dir, `f${i}.txt`), buf)
  }
  await sleep(1100) // let the files age past the memo's racy window
  const memoPath = join(root, 'memo.json')

  const run = async (label: string, memo?: HashMemo) => {
    const t0 = process.hrtime.bigint()
    const h = createContentHasher(ctx, memo === undefined ? { mode: 'context' } : { mode: 'context', memo })
    const d = await h.checksum('/', { followLinks: true })
    const ms = Number(process.hrtime.bigint() - t0) / 1e6
    out(`${label.padEnd(34)} ${ms.toFixed(1).padStart(7)} ms  ${d.slice(0, 19)}…`)
    return d
  }

  out(`tree: ${files} files, ${totalMB} MB, node ${process.version}`)
  await run('cold (no memo, first read)')
  await run('page cache warm, no memo')
  const t0 = process.hrtime.bigint()
  const memo1 = await createFileHashMemo(memoPath)
  const d1 = await run('filling memo', memo1)
  await memo1.save()
  out(`memo save                          ${(Number(process.hrtime.bigint() - t0) / 1e6).toFixed(1).padStart(7)} ms (incl. fill)`)
  for (let i = 0; i < 3; i++) {
    const t1 = process.hrtime.bigint()
    const memo2 = await createFileHashMemo(memoPath)
    const load = Number(process.hrtime.bigint() - t1) / 1e6
    const d2 = await run(`warm memo #${i + 1} (load ${load.toFixed(1)} ms)`, memo2)
    if (d2 !== d1) out('DIGEST MISMATCH')
  }
} finally {
  rmSync(root, { recursive: true, force: true })
}

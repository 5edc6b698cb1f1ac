// Bench report (not a test): turns the samples bench/run.sh recorded into the ratio table.
//   node --import tsx bench/report.ts SAMPLES.jsonl OUT_DIR
// SAMPLES.jsonl has one line per timed build (see `Sample`); run metadata comes from BENCH_META_* variables.
// Writes OUT_DIR/bench-<stamp>.{json,md} and OUT_DIR/latest.{json,md}, and prints the markdown table.
import { copyFileSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { pathToFileURL } from 'node:url'

/** One timed build, as bench/run.sh appends it. */
interface Sample {
  scenario: string
  builder: 'cairn' | 'buildkit'
  run: number
  /** Wall-clock seconds of the build command (client side for BuildKit). */
  seconds: number
  /** Peak RSS of the cairn process tree's largest process (time -v); null for BuildKit. */
  maxRssKb: number | null
  /** Steps reported as cached / all steps; -1 when unknown. */
  cachedSteps: number
  totalSteps: number
  /** The build command exited 0. */
  ok: boolean
}

interface Target {
  ratio: number
  label: string
}

/** The scenarios, in table order, with the target each ratio is held to (issue requirements). */
const SCENARIOS: Record<string, { title: string; target: Target }> = {
  'w1-cold': { title: 'W1 cold build', target: { ratio: 1.0, label: '≤ 1.0x' } },
  'w1-noop': { title: 'W1 no-op rebuild', target: { ratio: 0.5, label: '≤ 0.5x' } },
  'w1-onefile': { title: 'W1 one file changed', target: { ratio: 1.0, label: '≤ 1.0x' } },
  'w2-cold': { title: 'W2 cold (500 MB layer)', target: { ratio: 1.0, label: '≤ 1.0x' } },
  'w3-cold': { title: 'W3 cold (40 RUN steps)', target: { ratio: 1.0, label: '≤ 1.0x' } },
  'w3-noop': { title: 'W3 no-op rebuild', target: { ratio: 0.5, label: '≤ 0.5x' } },
  'w1-cold-export': { title: 'W1 cold + cache export (cairn local mode=max; BuildKit inline)', target: { ratio: 1.0, label: '≤ 1.0x' } },
  'w1-cold-export-plain': {
    title: 'W1 cold, cairn only, run right before each export run (the pair of the overhead)',
    target: { ratio: Number.NaN, label: '' },
  },
  'w1-fresh-cache': { title: 'W1 fresh machine, fully cached (cairn local cache; BuildKit inline registry cache)', target: { ratio: 0.5, label: '≤ 0.5x' } },
}
/**
 * Export overhead: cairn's cold build with a mode=max export against its plain cold build. Measured
 * in pairs (a plain cold build right before each export run, same conditions) when the samples have
 * them: the median of the per-pair ratios. Without pairs, the two scenarios' medians.
 */
const EXPORT_OVERHEAD = { with: 'w1-cold-export', paired: 'w1-cold-export-plain', without: 'w1-cold', targetPct: 15 }

/**
 * A distribution-free confidence interval for a median: the order statistics k and n-k+1 (1-based) of
 * the sorted values, k the largest with P(Binomial(n, 1/2) < k) <= (1 - level) / 2. Null when n is
 * too small for the level (below 5 values at 90%).
 */
export function medianInterval(values: readonly number[], level = 0.9): [number, number] | null {
  const n = values.length
  const sorted = [...values].sort((a, b) => a - b)
  let below = 0 // P(X <= j) for X ~ Binomial(n, 1/2), j = k - 1
  let k = 0
  let term = 0.5 ** n // P(X = 0)
  for (let j = 0; j < n; j++) {
    below += term
    if (below > (1 - level) / 2) break
    k = j + 1
    term = (term * (n - j)) / (j + 1)
  }
  if (k < 1) return null
  return [sorted[k - 1] as number, sorted[n - k] as number]
}

/** Median of export_i / plain_i - 1 over the runs that have both (in %, with its 90% interval), or null. */
function pairedOverhead(samples: readonly Sample[]): { pct: number; pairs: number; interval: [number, number] | null } | null {
  const runs = (scenario: string) => new Map(samples.filter((s) => s.ok && s.builder === 'cairn' && s.scenario === scenario).map((s) => [s.run, s.seconds]))
  const withExport = runs(EXPORT_OVERHEAD.with)
  const plain = runs(EXPORT_OVERHEAD.paired)
  const ratios = [...withExport].flatMap(([run, t]) => {
    const p = plain.get(run)
    return p ? [t / p - 1] : []
  })
  const m = median(ratios)
  const ci = medianInterval(ratios)
  return m === null ? null : { pct: m * 100, pairs: ratios.length, interval: ci ? [ci[0] * 100, ci[1] * 100] : null }
}
const RSS_SCENARIO = 'w2-cold'
const RSS_TARGET_MB = 200

interface Row {
  scenario: string
  title: string
  cairnSeconds: number | null
  buildkitSeconds: number | null
  ratio: number | null
  target: string
  meetsTarget: boolean | null
  cairnPeakRssMB: number | null
  cairnRuns: number[]
  buildkitRuns: number[]
  cairnCached: string
  buildkitCached: string
  failures: number
}

function median(xs: readonly number[]): number | null {
  if (xs.length === 0) return null
  const s = [...xs].sort((a, b) => a - b)
  const m = s.length >> 1
  return s.length % 2 === 1 ? s[m] : (s[m - 1] + s[m]) / 2
}

function cachedSummary(samples: readonly Sample[]): string {
  const known = samples.filter((s) => s.totalSteps >= 0)
  if (known.length === 0) return 'n/a'
  const distinct = [...new Set(known.map((s) => `${s.cachedSteps}/${s.totalSteps}`))]
  return distinct.join(', ')
}

function buildRows(samples: readonly Sample[]): Row[] {
  const rows: Row[] = []
  const order = [...Object.keys(SCENARIOS), ...new Set(samples.map((s) => s.scenario))]
  for (const scenario of new Set(order)) {
    const mine = samples.filter((s) => s.scenario === scenario)
    if (mine.length === 0) continue
    const def = SCENARIOS[scenario] ?? { title: scenario, target: { ratio: Number.NaN, label: '' } }
    const ok = mine.filter((s) => s.ok)
    const c = ok.filter((s) => s.builder === 'cairn')
    const b = ok.filter((s) => s.builder === 'buildkit')
    const cs = median(c.map((s) => s.seconds))
    const bs = median(b.map((s) => s.seconds))
    const ratio = cs !== null && bs !== null && bs > 0 ? cs / bs : null
    const rss = c.map((s) => s.maxRssKb).filter((x): x is number => x !== null)
    rows.push({
      scenario,
      title: def.title,
      cairnSeconds: cs,
      buildkitSeconds: bs,
      ratio,
      target: def.target.label,
      meetsTarget: ratio === null || Number.isNaN(def.target.ratio) ? null : ratio <= def.target.ratio,
      cairnPeakRssMB: rss.length > 0 ? Math.max(...rss) / 1024 : null,
      cairnRuns: c.map((s) => s.seconds),
      buildkitRuns: b.map((s) => s.seconds),
      cairnCached: cachedSummary(c),
      buildkitCached: cachedSummary(b),
      failures: mine.length - ok.length,
    })
  }
  return rows
}

const fmt = (x: number | null, digits = 2) => (x === null ? 'n/a' : x.toFixed(digits))
const verdict = (m: boolean | null) => (m === null ? '' : m ? 'yes' : '**no**')

function markdown(rows: readonly Row[], meta: Record<string, string>, samples: readonly Sample[] = []): string {
  const lines: string[] = []
  lines.push(`Bench ${meta.date ?? ''} — cairn ${meta.commit ?? '?'} vs ${meta.buildkit ?? 'BuildKit'}`)
  lines.push(`(median of ${meta.runs ?? '?'} runs, wall seconds; ratio = cairn / BuildKit; ${meta.host ?? ''})`)
  lines.push('')
  lines.push('| Scenario | cairn s | BuildKit s | ratio | target | met | cairn peak RSS MB | cached steps cairn / BuildKit | runs cairn ; BuildKit |')
  lines.push('|---|---:|---:|---:|---|---|---:|---|---|')
  for (const r of rows) {
    const runs = `${r.cairnRuns.map((x) => x.toFixed(2)).join(' ')} ; ${r.buildkitRuns.map((x) => x.toFixed(2)).join(' ')}`
    const fail = r.failures > 0 ? ` (${r.failures} failed)` : ''
    lines.push(
      `| ${r.title}${fail} | ${fmt(r.cairnSeconds)} | ${fmt(r.buildkitSeconds)} | ${r.ratio === null ? 'n/a' : `${r.ratio.toFixed(2)}x`} | ${r.target} | ${verdict(r.meetsTarget)} | ${fmt(r.cairnPeakRssMB, 0)} | ${r.cairnCached} / ${r.buildkitCached} | ${runs} |`,
    )
  }
  const w2 = rows.find((r) => r.scenario === RSS_SCENARIO)
  if (w2 && w2.cairnPeakRssMB !== null) {
    const ok = w2.cairnPeakRssMB < RSS_TARGET_MB
    lines.push('')
    lines.push(`Peak RSS on W2 (cairn): ${w2.cairnPeakRssMB.toFixed(0)} MB — target < ${RSS_TARGET_MB} MB: ${ok ? 'met' : '**not met**'}`)
  }
  const paired = pairedOverhead(samples)
  const withExport = rows.find((r) => r.scenario === EXPORT_OVERHEAD.with)?.cairnSeconds
  const plain = rows.find((r) => r.scenario === EXPORT_OVERHEAD.without)?.cairnSeconds
  if (paired || (withExport && plain)) {
    const pct = paired ? paired.pct : ((withExport as number) / (plain as number) - 1) * 100
    const how = paired ? `median of ${paired.pairs} paired runs` : 'medians of the two scenarios'
    // judged unrounded: 15.2% is over a 15% target
    const met = pct <= EXPORT_OVERHEAD.targetPct
    const ci = paired?.interval
    const range = ci ? `; 90% interval of the median ${ci[0].toFixed(1)}–${ci[1].toFixed(1)}%` : ''
    // single pairs move by ±10 points: say so when this run alone cannot tell which side of the target the median is on
    const open =
      ci && ci[0] <= EXPORT_OVERHEAD.targetPct && ci[1] > EXPORT_OVERHEAD.targetPct ? ' (the interval spans the target: one report does not settle it)' : ''
    lines.push(
      '',
      `Export of mode=max (type=local) adds ${pct.toFixed(1)}% to cairn's W1 cold build (${how}${range}) — target ≤ ${EXPORT_OVERHEAD.targetPct}%: ${met ? 'met' : '**not met**'}${open}`,
    )
  }
  if (meta.load) lines.push('', meta.load)
  if (meta.note) lines.push('', meta.note)
  return `${lines.join('\n')}\n`
}

function main(): void {
  const [samplesPath, outDir] = process.argv.slice(2)
  if (!samplesPath || !outDir) {
    process.stderr.write('usage: report.ts SAMPLES.jsonl OUT_DIR\n')
    process.exit(2)
  }
  const samples = readFileSync(samplesPath, 'utf8')
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map((l) => JSON.parse(l) as Sample)
  const meta: Record<string, string> = {}
  for (const [k, v] of Object.entries(process.env)) {
    if (k.startsWith('BENCH_META_') && v !== undefined) meta[k.slice('BENCH_META_'.length).toLowerCase()] = v
  }
  const rows = buildRows(samples)
  const md = markdown(rows, meta, samples)
  mkdirSync(outDir, { recursive: true })
  const stamp = (meta.date ?? new Date().toISOString()).replace(/[:]/g, '').replace(/\..*$/, '')
  const json = JSON.stringify({ meta, rssTargetMB: RSS_TARGET_MB, rows, samples }, null, 2)
  writeFileSync(join(outDir, `bench-${stamp}.json`), `${json}\n`)
  writeFileSync(join(outDir, `bench-${stamp}.md`), md)
  copyFileSync(join(outDir, `bench-${stamp}.json`), join(outDir, 'latest.json'))
  copyFileSync(join(outDir, `bench-${stamp}.md`), join(outDir, 'latest.md'))
  process.stdout.write(`\n${md}\nwritten: ${join(outDir, `bench-${stamp}.{json,md}`)} (and latest.*)\n`)
}

// run as a script (bench/run.sh); imported, it only lends its functions (test/bench-report.itest.ts)
if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) main()

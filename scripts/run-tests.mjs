#!/usr/bin/env node
// Runs the whole test suite with node:test (via tsx). On Node 20, `node --test DIR` finds no .ts
// files, so the files are listed here explicitly.
//   node scripts/run-tests.mjs            unit tests (src/**/*.test.ts) and integration tests (test/**/*.itest.ts)
//   node scripts/run-tests.mjs --unit     unit tests only
//   node scripts/run-tests.mjs FILE...    just those files
import { spawnSync } from 'node:child_process'
import { readdirSync, statSync } from 'node:fs'
import { join } from 'node:path'

function walk(dir, suffix, out = []) {
  let names
  try { names = readdirSync(dir) } catch { return out }
  for (const name of names.sort()) {
    if (name === 'node_modules' || name.startsWith('.')) continue
    const p = join(dir, name)
    if (statSync(p).isDirectory()) walk(p, suffix, out)
    else if (name.endsWith(suffix)) out.push(p)
  }
  return out
}

const args = process.argv.slice(2)
const unitOnly = args.includes('--unit')
const explicit = args.filter((a) => !a.startsWith('--'))
const files = explicit.length > 0 ? explicit : [
  ...walk('src', '.test.ts'),
  ...(unitOnly ? [] : walk('test', '.itest.ts')),
]
if (files.length === 0) {
  console.error('no test files found')
  process.exit(1)
}
// Integration tests run the real CLI (bin/cairn over dist/): build it first so it is never stale.
if (files.some((f) => f.endsWith('.itest.ts'))) {
  const tsc = spawnSync(process.execPath, ['scripts/bundle.mjs'], { stdio: 'inherit' })
  if (tsc.status !== 0) process.exit(tsc.status ?? 1)
}
const res = spawnSync(process.execPath, [
  '--import', 'tsx',
  '--test', '--test-concurrency=1', '--test-reporter=spec',
  ...files,
], { stdio: 'inherit' })
process.exit(res.status ?? 1)

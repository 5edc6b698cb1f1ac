#!/usr/bin/env node
// The cairn command. Runs the compiled CLI (dist/, built by `npm ci` through the prepare script).
import { existsSync } from 'node:fs'

const dist = new URL('../dist/cli/main.js', import.meta.url)
if (!existsSync(dist)) {
  process.stderr.write('ERROR: cairn is not built (dist/ is missing)\nhint: run `npm ci` (or `npm run build`) in the cairn checkout\n')
  process.exit(1)
}
const { main } = await import(dist.href)
process.exitCode = await main(process.argv.slice(2))

#!/usr/bin/env node
// The cairn command: runs the bundled CLI (dist/bundle/cairn.mjs, built by `npm ci` through the prepare script).
import { existsSync } from 'node:fs'

const bundle = new URL('../dist/bundle/cairn.mjs', import.meta.url)
if (!existsSync(bundle)) {
  process.stderr.write('ERROR: cairn is not built (dist/bundle/cairn.mjs is missing)\nhint: run `npm ci` (or `npm run build`) in the cairn checkout\n')
  process.exit(1)
}
const { main } = await import(bundle.href)
process.exitCode = await main(process.argv.slice(2))

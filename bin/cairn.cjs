#!/usr/bin/env node
// The cairn command (started by bin/cairn). CommonJS, so that node starts it without the ESM loader:
// an unchanged build is answered from the no-op memo (dist/bundle/replay.cjs, node builtins only);
// anything else loads the builder (dist/bundle/cairn.mjs and its chunks, built by `npm ci`).
'use strict'
const { statSync } = require('node:fs')
const { join } = require('node:path')
const { pathToFileURL } = require('node:url')

const dir = join(__dirname, '..', 'dist', 'bundle')
const st = statSync(join(dir, 'cairn.mjs'), { throwIfNoEntry: false })
if (!st) {
  process.stderr.write('ERROR: cairn is not built (dist/bundle/cairn.mjs is missing)\nhint: run `npm ci` (or `npm run build`) in the cairn checkout\n')
  process.exit(1)
}
// which build of cairn this is: the memo written by one build is never trusted by another
const version = `${st.size}:${st.mtimeMs}:${st.ino}`
const argv = process.argv.slice(2)
const replayed = require(join(dir, 'replay.cjs')).tryReplay(argv, process.env, { cwd: process.cwd(), version, stderr: (s) => process.stderr.write(s) })
if (replayed !== undefined) process.exitCode = replayed
else
  import(pathToFileURL(join(dir, 'cairn.mjs')).href).then(
    async ({ main }) => {
      process.exitCode = await main(argv, process.env, { version })
    },
    (err) => {
      process.stderr.write(`ERROR: cannot load cairn (${err.message})\nhint: rebuild it with \`npm ci\` in the cairn checkout\n`)
      process.exitCode = 1
    },
  )

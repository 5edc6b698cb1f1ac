#!/usr/bin/env node
// The cairn command (started by bin/cairn). CommonJS, so that node starts it without the ESM loader:
// an unchanged build is answered from the no-op memo (dist/bundle/replay.cjs, node builtins only);
// anything else loads the builder (dist/bundle/cairn.cjs, built by `npm ci`) through V8's code cache.
'use strict'
const { readFileSync, statSync, writeFileSync } = require('node:fs')
const Module = require('node:module')
const { join } = require('node:path')
const vm = require('node:vm')

const dir = join(__dirname, '..', 'dist', 'bundle')
const bundle = join(dir, 'cairn.cjs')
const cacheFile = `${bundle}.cache`
const st = statSync(bundle, { throwIfNoEntry: false })
if (!st) {
  process.stderr.write('ERROR: cairn is not built (dist/bundle/cairn.cjs is missing)\nhint: run `npm ci` (or `npm run build`) in the cairn checkout\n')
  process.exit(1)
}
// which build of cairn this is: the memo written by one build is never trusted by another
const version = `${st.size}:${st.mtimeMs}:${st.ino}`
const argv = process.argv.slice(2)

/** Loads the builder: its module function compiled with the code cache when V8 accepts it. */
function loadBuilder(makeCache) {
  let cachedData
  if (!makeCache) {
    try {
      cachedData = readFileSync(cacheFile)
    } catch {
      // no cache: compiled as usual
    }
  }
  // (the bundle has no dynamic import(): scripts/bundle.mjs refuses one, as a cached function would have no loader for it)
  const script = new vm.Script(Module.wrap(readFileSync(bundle, 'utf8')), { filename: bundle, ...(cachedData ? { cachedData } : {}) })
  const mod = { exports: {} }
  script.runInThisContext()(mod.exports, Module.createRequire(bundle), mod, bundle, dir)
  if (makeCache) writeFileSync(cacheFile, script.createCachedData())
  return mod.exports
}

if (argv[0] === '--make-code-cache') {
  loadBuilder(true)
} else {
  const replayed = require(join(dir, 'replay.cjs')).tryReplay(argv, process.env, { cwd: process.cwd(), version, stderr: (s) => process.stderr.write(s) })
  if (replayed !== undefined) process.exitCode = replayed
  else {
    let main
    try {
      main = loadBuilder(false).main
    } catch (err) {
      process.stderr.write(`ERROR: cannot load cairn (${err.message})\nhint: rebuild it with \`npm ci\` in the cairn checkout\n`)
      process.exit(1)
    }
    main(argv, process.env, { version }).then((code) => {
      process.exitCode = code
    })
  }
}

#!/usr/bin/env node
// Bundles the CLI for bin/cairn.cjs (see the Layout section of the README):
//   dist/bundle/replay.cjs       the no-op memo's replay, loaded first (node builtins only)
//   dist/bundle/cairn.cjs        the builder, one CommonJS file, plus cairn.cjs.cache: V8's code cache of it
//   dist/bundle/pack-worker.mjs  the layer-packing worker thread
//   dist/bundle/cairn-tarwalk.node  the layer tar writer in C (native/tarwalk.c), where a C compiler and
//                                node's headers are; without it layers are packed by the TypeScript writer
// One file loads in a fraction of the time of ~150 modules, and with its code cache V8 does not parse
// it again (the whole load: ~25 ms as an ES module, ~10 ms from the cache). Native addons and the
// cloud SDKs stay external; the backends that use the SDKs are initialised (and require them) only
// when an s3/azblob cache is used.
import { execFileSync } from 'node:child_process'
import { existsSync, readFileSync, rmSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { build } from 'esbuild'

rmSync('dist/bundle', { recursive: true, force: true }) // nothing stale from earlier builds

const common = {
  bundle: true,
  platform: 'node',
  target: 'node20',
  logLevel: 'warning',
  external: ['zstd-napi', '@napi-rs/xattr', '@aws-sdk/*', '@azure/*', '@smithy/*'],
}

await build({
  ...common,
  entryPoints: ['src/cli/main.ts'],
  outfile: 'dist/bundle/cairn.cjs',
  format: 'cjs',
  sourcemap: 'linked',
  // import.meta.url (native addons, the worker's location) is the bundle's own URL
  banner: { js: "var __cairnMetaUrl = require('node:url').pathToFileURL(__filename).href;" },
  define: { 'import.meta.url': '__cairnMetaUrl', 'process.env.CAIRN_BUNDLED': '"1"' },
})

await build({
  ...common,
  entryPoints: ['src/layer/pack-worker.ts'],
  outfile: 'dist/bundle/pack-worker.mjs',
  format: 'esm',
  sourcemap: 'linked',
  banner: { js: "import { createRequire as __cairnRequire } from 'node:module'; const require = __cairnRequire(import.meta.url);" },
  define: { 'process.env.CAIRN_BUNDLED': '"1"' },
})

// The native tar writer, built for this node (N-API: no library to link; node resolves its symbols at load)
const nodeInclude = join(dirname(process.execPath), '..', 'include', 'node')
if (!existsSync(join(nodeInclude, 'node_api.h'))) {
  console.warn(`note: ${nodeInclude}/node_api.h not found: the native tar writer is not built (layers are packed by the TypeScript writer)`)
} else {
  try {
    const cc = process.env.CC || 'cc'
    execFileSync(cc, ['-O2', '-shared', '-fPIC', '-Wall', '-Wextra', '-Wno-unused-parameter', `-I${nodeInclude}`, '-o', 'dist/bundle/cairn-tarwalk.node', 'native/tarwalk.c'], { stdio: 'inherit' })
  } catch (err) {
    console.warn(`note: the native tar writer was not built (${String(err.message).split('\n')[0]}); install a C compiler (apt-get install gcc libc6-dev) for faster cache exports`)
  }
}

await build({ ...common, external: [], entryPoints: ['src/cli/replay.ts'], outfile: 'dist/bundle/replay.cjs', format: 'cjs' })

// A module function compiled from a code cache has no dynamic-import callback: the builder must not use import()
if (/(?<![.\w$])import\(/.test(readFileSync('dist/bundle/cairn.cjs', 'utf8'))) {
  throw new Error('dist/bundle/cairn.cjs contains a dynamic import(); use a static import or require (bin/cairn.cjs loads it through vm.Script)')
}

// V8's code cache of the builder, made by this node (a cache from another node or other flags is
// rejected at load time, and the bundle is then compiled as usual)
execFileSync(process.execPath, ['bin/cairn.cjs', '--make-code-cache'], { stdio: 'inherit' })

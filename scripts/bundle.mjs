#!/usr/bin/env node
// Bundles the CLI into dist/bundle/cairn.mjs (plus lazily loaded chunks): one file loads in a fraction of the time of ~150 modules,
// which matters for no-op rebuilds. Native addons and the cloud SDKs stay external (the SDKs are
// imported only when an s3/azblob cache is used).
import { rmSync } from 'node:fs'
import { build } from 'esbuild'

rmSync('dist/bundle', { recursive: true, force: true }) // no stale chunks of earlier builds

await build({
  entryPoints: { cairn: 'src/cli/main.ts', 'pack-worker': 'src/layer/pack-worker.ts' },
  outdir: 'dist/bundle',
  outExtension: { '.js': '.mjs' },
  // Code splitting keeps what is imported dynamically (the cloud backends and their SDKs) out of the
  // startup chunk: without it esbuild hoists their external imports to the top of the bundle.
  splitting: true,
  chunkNames: 'chunks/[name]-[hash]',
  bundle: true,
  platform: 'node',
  target: 'node20',
  format: 'esm',
  sourcemap: 'linked',
  logLevel: 'warning',
  external: ['zstd-napi', '@napi-rs/xattr', '@aws-sdk/*', '@azure/*', '@smithy/*'],
  banner: { js: "import { createRequire as __cairnRequire } from 'node:module'; const require = __cairnRequire(import.meta.url);" },
  define: { 'process.env.CAIRN_BUNDLED': '"1"' },
})

// The no-op memo's replay, alone and in CommonJS: what bin/cairn.cjs loads before deciding to load the rest.
await build({
  entryPoints: ['src/cli/replay.ts'],
  outfile: 'dist/bundle/replay.cjs',
  bundle: true,
  platform: 'node',
  target: 'node20',
  format: 'cjs',
  logLevel: 'warning',
})

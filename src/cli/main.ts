import { readFile, writeFile } from 'node:fs/promises'
import { dirname, join, resolve } from 'node:path'
import { build } from '../build/build.ts'
import { openState } from '../build/state.ts'
import { CairnError, InvalidArgumentError } from '../core/errors.ts'
import { createRuncExecutor } from '../executor/runc-executor.ts'
import { type OutputSpec, parseOutputSpec } from '../export/output-spec.ts'
import { formatPlatform, nativePlatform } from '../oci/platform.ts'
import type { Reporter } from '../progress/events.ts'
import { createJsonReporter } from '../progress/json-reporter.ts'
import { createPlainReporter } from '../progress/plain-reporter.ts'
import { createTtyReporter } from '../progress/tty-reporter.ts'
import { parseCacheSpecs } from '../cache/spec/parse.ts'
import { BUILD_USAGE, type BuildArgs, parseBuildArgs, parseKeyValues } from './args.ts'
import { createTransportFactory } from './transports.ts'
import { createPackThread } from '../layer/pack-thread.ts'
import { createDockerConfigCredentials, createRegistryClient, type RegistryClient } from '../registry/index.ts'
import { createRedactingReporter } from '../progress/redacting-reporter.ts'
import { reportingCredentials, reportingFetch } from '../secrets/credentials.ts'
import { createRedactor, type Redactor, redactDeep } from '../secrets/redact.ts'
import { setupSecrets } from '../secrets/setup.ts'
import { parseSecretFlag } from '../secrets/store.ts'
import { adoptExtraCaCerts } from '../core/extra-ca.ts'
import type { BuildEvent } from '../progress/events.ts'
import type { BuildResult } from '../build/build.ts'
import { prepackedExport } from '../build/cache.ts'
import { memoEligible, recordMemo, stateRoot } from './replay.ts'

const USAGE = `Usage: cairn COMMAND

A daemonless container-image builder whose build cache travels.

Commands:
  build      Build an image from a Dockerfile
  version    Show the version

Run 'cairn build --help' for the build flags.
`

/** The composition root: the only place that reads argv, env and stdio. Returns the exit code. */
/** The AWS SDK warns on every use under Node 20 (its future engine policy); that is not the user's concern. */
function filterSdkWarnings(): void {
  const printers = process.listeners('warning')
  process.removeAllListeners('warning')
  process.on('warning', (w) => {
    if (w.name === 'NodeVersionSupportWarning') return
    for (const p of printers) p(w)
  })
}

export interface MainOptions {
  /** The cairn build (a signature of its bundle); the no-op memo is used only when it is known. */
  version?: string
}

export async function main(argv: string[], env: NodeJS.ProcessEnv = process.env, opts: MainOptions = {}): Promise<number> {
  filterSdkWarnings()
  adoptExtraCaCerts(env)
  const [cmd, ...rest] = argv
  // every secret value and credential the CLI learns is masked in everything it prints
  const redactor = createRedactor()
  const stderr = (s: string) => process.stderr.write(redactor.redact(s))
  try {
    switch (cmd) {
      case 'build':
        return await runBuild(rest, env, redactor, opts.version)
      case 'version':
      case '--version':
        process.stdout.write('cairn 0.1.0\n')
        return 0
      case undefined:
      case 'help':
      case '--help':
      case '-h':
        process.stdout.write(USAGE)
        return cmd === undefined ? 1 : 0
      default:
        throw new InvalidArgumentError(`unknown command "${cmd}"`, { code: 'ERR_CLI_USAGE', hint: 'see `cairn --help`' })
    }
  } catch (err) {
    printError(err, stderr, env)
    return 1
  }
}

function printError(err: unknown, write: (s: string) => void, env: NodeJS.ProcessEnv): void {
  if (err instanceof CairnError) {
    write(`ERROR: ${err.message}\n`)
    if (err.hint) write(`hint: ${err.hint}\n`)
  } else if (err instanceof Error && err.name === 'AbortError') {
    write('ERROR: build cancelled\n')
  } else {
    const e = err as NodeJS.ErrnoException
    write(`ERROR: ${e?.message ?? String(err)}\n`)
    if (!env.CAIRN_DEBUG) write('hint: this looks like a bug in cairn; rerun with CAIRN_DEBUG=1 for details and report it\n')
  }
  if (env.CAIRN_DEBUG && err instanceof Error && err.stack) write(`${err.stack}\n`)
}

function makeReporter(mode: string, quiet: boolean, redactor: Redactor): Reporter {
  const write = (s: string) => {
    process.stderr.write(s)
  }
  if (quiet || mode === 'quiet') return { emit() {}, close() {} }
  const redact = redactor.redact
  if (mode === 'rawjson') return createRedactingReporter(createJsonReporter(write, redact), redactor)
  const tty = mode === 'tty' || (mode === 'auto' && process.stderr.isTTY && (process.stderr.columns ?? 0) > 0)
  return createRedactingReporter(tty ? createTtyReporter(process.stderr, redact) : createPlainReporter(write, redact), redactor)
}

function makeRegistryClient(a: BuildArgs, env: NodeJS.ProcessEnv, redactor: Redactor): RegistryClient {
  const insecure = new Set([...a.insecureRegistries, ...(env.CAIRN_INSECURE_REGISTRIES ?? '').split(',')].map((h) => h.trim()).filter(Boolean))
  const learn = (v: string) => redactor.add(v)
  return createRegistryClient({
    // passwords and tokens are learnt as they are used, so that no output can show them
    credentials: reportingCredentials(createDockerConfigCredentials({ env }), learn),
    fetch: reportingFetch(globalThis.fetch, learn),
    insecure: (host) => insecure.has(host),
    userAgent: 'cairn/0.1.0',
  })
}

function resolveOutputs(a: BuildArgs): OutputSpec[] {
  const outs = a.outputs.map(parseOutputSpec)
  if (a.load) outs.push({ type: 'image', names: [], push: false })
  if (a.push) outs.push({ type: 'image', names: [], push: true })
  if (outs.length === 0 && a.tags.length > 0) outs.push({ type: 'image', names: [], push: false })
  return outs
}

async function runBuild(argv: string[], env: NodeJS.ProcessEnv, redactor: Redactor, version?: string): Promise<number> {
  const startedAt = Date.now()
  const envAtStart = { ...env } // as the memo key saw it, before anything below adds to env
  const a = parseBuildArgs(argv)
  if (a.help) {
    process.stdout.write(BUILD_USAGE)
    return 0
  }
  let reporter: Reporter | undefined
  const cacheTo = parseCacheSpecs(a.cacheTo, 'export', { env })
  const cacheFrom = parseCacheSpecs(a.cacheFrom, 'import', { env })
  const early: { rule: string; message: string }[] = []
  const { secrets, guard } = await setupSecrets({
    secretFlags: a.secrets,
    allowInLayer: a.allowSecretInLayer,
    cacheSpecs: [...cacheTo, ...cacheFrom],
    env,
    readFile: (p) => readFile(p),
    redactor,
    warn: (rule, message) => (reporter ? reporter.emit({ type: 'warning', rule, message, at: Date.now() }) : early.push({ rule, message })),
  })
  const platform = nativePlatform()
  if (a.platform?.split(',').some((p) => p.trim() !== formatPlatform(platform))) {
    throw new InvalidArgumentError(`--platform=${a.platform}: cairn builds for the native platform only (${formatPlatform(platform)})`, { code: 'ERR_CLI_USAGE' })
  }
  if (process.getuid?.() !== 0) {
    throw new CairnError('ERR_NOT_ROOT', 'cairn build needs root: it mounts overlay filesystems and runs steps with runc', { hint: 'run it as root (e.g. with sudo)' })
  }
  const outputs = resolveOutputs(a)
  const root = stateRoot(a, env)
  const epochRaw = env.SOURCE_DATE_EPOCH
  const epoch = epochRaw !== undefined && /^\d+$/.test(epochRaw) ? Number(epochRaw) : undefined
  // a mode=max cache export packs layers during the build, on a worker thread (started on first use)
  const packThread = prepackedExport(cacheTo) ? createPackThread() : undefined
  const state = openState(root, epoch, { scanner: guard.scannerFor, ...(packThread ? { packThread } : {}) })
  const registry = makeRegistryClient(a, env, redactor)
  reporter = makeReporter(a.progress, a.quiet, redactor)
  // what the no-op memo replays: the warnings and export lines of this build
  const seen: { warnings: { rule: string; message: string }[]; exports: string[] } = { warnings: [], exports: [] }
  const emit = (ev: BuildEvent) => {
    if (ev.type === 'warning') seen.warnings.push({ rule: ev.rule, message: redactor.redact(ev.message) })
    else if (ev.type === 'export.start') seen.exports.push(redactor.redact(ev.name))
    reporter?.emit(ev)
  }
  for (const w of early) emit({ type: 'warning', ...w, at: Date.now() })
  const ac = new AbortController()
  const onSignal = () => ac.abort(new CairnError('ERR_CANCELLED', 'build cancelled'))
  process.once('SIGINT', onSignal)
  process.once('SIGTERM', onSignal)
  let ok = false
  try {
    const result = await build(
      {
        contextDir: a.context,
        ...(a.file !== undefined ? { dockerfile: a.file } : {}),
        tags: a.tags,
        buildArgs: parseKeyValues(a.buildArgs, '--build-arg', env),
        ...(a.target !== undefined ? { target: a.target } : {}),
        noCache: a.noCache,
        labels: Object.fromEntries(parseKeyValues(a.labels, '--label', {})),
        outputs,
        namedContexts: parseKeyValues(a.buildContexts, '--build-context', {}),
        platform,
        ...(epoch !== undefined ? { epoch } : {}),
        cacheFrom,
        cacheTo,
      },
      {
        state,
        executor: createRuncExecutor({ stateDir: state.workDir }),
        transports: createTransportFactory(env, registry),
        registry,
        emit,
        signal: ac.signal,
        secrets,
        leakGuard: guard,
      },
    )
    ok = true
    reporter?.close(true)
    const metadata = redactDeep(result.metadata, redactor.redact)
    if (a.metadataFile) await writeFile(a.metadataFile, `${JSON.stringify(metadata, null, 2)}\n`)
    if (version && memoEligible(a) && result.inputs.local) {
      await rememberNoop(a, envAtStart, version, { startedAt, result, metadata, warnings: seen.warnings, exports: seen.exports, redact: redactor.redact }).catch(() => {})
    }
    return 0
  } finally {
    state.layers.snapshotter.flush?.()
    if (!ok) reporter?.close(false)
    process.off('SIGINT', onSignal)
    process.off('SIGTERM', onSignal)
  }
}

/** Records what this build depended on, so an unchanged rerun is answered without building (cli/replay.ts). */
async function rememberNoop(
  a: BuildArgs,
  env: NodeJS.ProcessEnv,
  version: string,
  b: { startedAt: number; result: BuildResult; metadata: Record<string, unknown>; warnings: { rule: string; message: string }[]; exports: string[]; redact: (s: string) => string },
): Promise<void> {
  const root = stateRoot(a, env)
  const manifest = b.result.metadata['containerimage.digest']
  if (typeof manifest !== 'string') return
  const config = b.result.metadata['containerimage.config.digest']
  if (typeof config !== 'string') return
  const contextDir = resolve(a.context)
  const dockerfile = a.file !== undefined ? resolve(a.file) : join(contextDir, 'Dockerfile')
  const secretFiles = a.secrets.map((s) => parseSecretFlag(s).file).filter((f): f is string => f !== undefined).map((f) => resolve(f))
  const images: Record<string, string> = { ...b.result.inputs.images }
  const names = b.result.metadata['image.name']
  for (const n of typeof names === 'string' ? names.split(',') : []) if (n) images[n] = manifest
  recordMemo({
    root,
    args: a,
    cwd: process.cwd(),
    env,
    version,
    startedAt: b.startedAt,
    contextDir,
    files: [dockerfile, `${dockerfile}.dockerignore`, join(contextDir, '.dockerignore'), join(dirname(dockerfile), '.dockerignore'), ...secretFiles],
    images,
    // the image store's layers are tars made on demand from snapshots: only its manifest and config are blobs
    blobs: [manifest, config],
    steps: b.result.steps.map((s) => b.redact(s.name)),
    exports: b.exports,
    warnings: b.warnings,
    metadata: b.metadata,
  })
}

const isMain = import.meta.url === `file://${process.argv[1]}` || process.argv[1]?.endsWith('/cli/main.js') || process.argv[1]?.endsWith('/cli/main.ts')
if (isMain) {
  main(process.argv.slice(2)).then((code) => {
    process.exitCode = code
  })
}

import { readFile, writeFile } from 'node:fs/promises'
import { resolve } from 'node:path'
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
import { createDockerConfigCredentials, createRegistryClient, type RegistryClient } from '../registry/index.ts'
import { createRedactingReporter } from '../progress/redacting-reporter.ts'
import { reportingCredentials, reportingFetch } from '../secrets/credentials.ts'
import { createRedactor, type Redactor, redactDeep } from '../secrets/redact.ts'
import { setupSecrets } from '../secrets/setup.ts'

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

export async function main(argv: string[], env: NodeJS.ProcessEnv = process.env): Promise<number> {
  filterSdkWarnings()
  const [cmd, ...rest] = argv
  // every secret value and credential the CLI learns is masked in everything it prints
  const redactor = createRedactor()
  const stderr = (s: string) => process.stderr.write(redactor.redact(s))
  try {
    switch (cmd) {
      case 'build':
        return await runBuild(rest, env, redactor)
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

async function runBuild(argv: string[], env: NodeJS.ProcessEnv, redactor: Redactor): Promise<number> {
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
  const root = resolve(a.root ?? env.CAIRN_ROOT ?? '/var/lib/cairn')
  const epochRaw = env.SOURCE_DATE_EPOCH
  const epoch = epochRaw !== undefined && /^\d+$/.test(epochRaw) ? Number(epochRaw) : undefined
  const state = openState(root, epoch, { scanner: guard.scannerFor })
  const registry = makeRegistryClient(a, env, redactor)
  reporter = makeReporter(a.progress, a.quiet, redactor)
  for (const w of early) reporter.emit({ type: 'warning', ...w, at: Date.now() })
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
        emit: (ev) => reporter?.emit(ev),
        signal: ac.signal,
        secrets,
        leakGuard: guard,
      },
    )
    ok = true
    reporter?.close(true)
    if (a.metadataFile) await writeFile(a.metadataFile, `${JSON.stringify(redactDeep(result.metadata, redactor.redact), null, 2)}\n`)
    return 0
  } finally {
    if (!ok) reporter?.close(false)
    process.off('SIGINT', onSignal)
    process.off('SIGTERM', onSignal)
  }
}

const isMain = import.meta.url === `file://${process.argv[1]}` || process.argv[1]?.endsWith('/cli/main.js') || process.argv[1]?.endsWith('/cli/main.ts')
if (isMain) {
  main(process.argv.slice(2)).then((code) => {
    process.exitCode = code
  })
}

import { writeFile } from 'node:fs/promises'
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

const USAGE = `Usage: cairn COMMAND

A daemonless container-image builder whose build cache travels.

Commands:
  build      Build an image from a Dockerfile
  version    Show the version

Run 'cairn build --help' for the build flags.
`

/** The composition root: the only place that reads argv, env and stdio. Returns the exit code. */
export async function main(argv: string[], env: NodeJS.ProcessEnv = process.env): Promise<number> {
  const [cmd, ...rest] = argv
  const stderr = (s: string) => process.stderr.write(s)
  try {
    switch (cmd) {
      case 'build':
        return await runBuild(rest, env)
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

function makeReporter(mode: string, quiet: boolean): Reporter {
  const write = (s: string) => {
    process.stderr.write(s)
  }
  if (quiet || mode === 'quiet') return { emit() {}, close() {} }
  if (mode === 'rawjson') return createJsonReporter(write)
  const tty = mode === 'tty' || (mode === 'auto' && process.stderr.isTTY && (process.stderr.columns ?? 0) > 0)
  return tty ? createTtyReporter(process.stderr) : createPlainReporter(write)
}

function makeRegistryClient(a: BuildArgs, env: NodeJS.ProcessEnv): RegistryClient {
  const insecure = new Set([...a.insecureRegistries, ...(env.CAIRN_INSECURE_REGISTRIES ?? '').split(',')].map((h) => h.trim()).filter(Boolean))
  return createRegistryClient({
    credentials: createDockerConfigCredentials({ env }),
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

async function runBuild(argv: string[], env: NodeJS.ProcessEnv): Promise<number> {
  const a = parseBuildArgs(argv)
  if (a.help) {
    process.stdout.write(BUILD_USAGE)
    return 0
  }
  const cacheTo = parseCacheSpecs(a.cacheTo, 'export', { env })
  const cacheFrom = parseCacheSpecs(a.cacheFrom, 'import', { env })
  for (const [flag, vals] of [['--secret', a.secrets]] as const) {
    if (vals.length) throw new InvalidArgumentError(`${flag} is not supported yet by this version of cairn`, { code: 'ERR_CLI_UNSUPPORTED' })
  }
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
  const state = openState(root, epoch)
  const registry = makeRegistryClient(a, env)
  const reporter = makeReporter(a.progress, a.quiet)
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
        emit: (ev) => reporter.emit(ev),
        signal: ac.signal,
      },
    )
    ok = true
    reporter.close(true)
    if (a.metadataFile) await writeFile(a.metadataFile, `${JSON.stringify(result.metadata, null, 2)}\n`)
    return 0
  } finally {
    if (!ok) reporter.close(false)
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

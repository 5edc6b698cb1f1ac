import { parseArgs } from 'node:util'
import { InvalidArgumentError } from '../core/errors.ts'

/** The flags of `cairn build`, named as in `docker buildx build`. */
const BUILD_OPTIONS = {
  file: { type: 'string', short: 'f' },
  tag: { type: 'string', short: 't', multiple: true },
  'build-arg': { type: 'string', multiple: true },
  'build-context': { type: 'string', multiple: true },
  target: { type: 'string' },
  'no-cache': { type: 'boolean' },
  label: { type: 'string', multiple: true },
  progress: { type: 'string' },
  output: { type: 'string', short: 'o', multiple: true },
  'metadata-file': { type: 'string' },
  root: { type: 'string' },
  platform: { type: 'string' },
  load: { type: 'boolean' },
  push: { type: 'boolean' },
  'cache-to': { type: 'string', multiple: true },
  'cache-from': { type: 'string', multiple: true },
  secret: { type: 'string', multiple: true },
  'allow-secret-in-layer': { type: 'string', multiple: true },
  'insecure-registry': { type: 'string', multiple: true },
  quiet: { type: 'boolean', short: 'q' },
  help: { type: 'boolean', short: 'h' },
} as const

export interface BuildArgs {
  context: string
  file?: string
  tags: string[]
  buildArgs: string[]
  buildContexts: string[]
  target?: string
  noCache: boolean
  labels: string[]
  progress: string
  outputs: string[]
  metadataFile?: string
  root?: string
  platform?: string
  load: boolean
  push: boolean
  cacheTo: string[]
  cacheFrom: string[]
  secrets: string[]
  /** Secret ids that may be found in exported layers (the leak guard warns instead of failing). */
  allowSecretInLayer: string[]
  insecureRegistries: string[]
  quiet: boolean
  help: boolean
}

export const BUILD_USAGE = `Usage: cairn build [OPTIONS] CONTEXT

Build an image from a Dockerfile. Flags are those of docker buildx build.

Options:
  -f, --file PATH            Dockerfile (default: CONTEXT/Dockerfile)
  -t, --tag NAME             name and optionally tag (repeatable)
      --build-arg K=V        set a build-time variable (repeatable)
      --build-context N=SRC  extra named context, e.g. base=oci-layout:///path/to/layout
      --target STAGE         build this stage
      --no-cache             do not use the cache when building
      --label K=V            set metadata for the image (repeatable)
      --progress MODE        auto, tty, plain or rawjson (default: auto)
  -o, --output SPEC          type=image|oci|docker|local,dest=... (repeatable)
      --load                 shorthand for -o type=image
      --metadata-file FILE   write build result metadata (JSON) to FILE
      --root DIR             cairn's state directory (env CAIRN_ROOT; default /var/lib/cairn)
      --platform P           target platform (only the native one)
      --push                 push every -t name to its registry (also -o type=registry)
      --cache-to SPEC        export the build cache (type=local|registry|inline|gha|s3|azblob,...; repeatable)
      --cache-from SPEC      import a build cache (same types; repeatable, all merged)
      --secret SPEC          id=ID[,src=FILE|,env=VAR][,type=file|env]: a secret for RUN --mount=type=secret (repeatable)
      --allow-secret-in-layer ID
                             let secret ID be in an exported layer (otherwise such a layer fails the build)
      --insecure-registry H  reach registry H over plain HTTP (loopback always is; env CAIRN_INSECURE_REGISTRIES)
`

/** Parses `cairn build` arguments; unknown flags are errors that name the flag. */
export function parseBuildArgs(argv: string[]): BuildArgs {
  let parsed: ReturnType<typeof parseArgs<{ options: typeof BUILD_OPTIONS; allowPositionals: true; args: string[] }>>
  try {
    parsed = parseArgs({ args: argv, options: BUILD_OPTIONS, allowPositionals: true, strict: true })
  } catch (err) {
    const msg = (err as Error).message.replace(/\. To specify a positional argument.*$/s, '')
    throw new InvalidArgumentError(`cairn build: ${msg}`, { code: 'ERR_CLI_USAGE', hint: 'see `cairn build --help`' })
  }
  const v = parsed.values
  if (v.help) return { help: true } as BuildArgs
  if (parsed.positionals.length !== 1) {
    throw new InvalidArgumentError(`cairn build requires exactly 1 argument (the build context), got ${parsed.positionals.length}`, {
      code: 'ERR_CLI_USAGE',
      hint: 'e.g. `cairn build -t app .`',
    })
  }
  const progress = v.progress ?? 'auto'
  if (!['auto', 'tty', 'plain', 'rawjson', 'quiet'].includes(progress)) {
    throw new InvalidArgumentError(`--progress=${progress}: must be one of auto, tty, plain, rawjson`, { code: 'ERR_CLI_USAGE' })
  }
  return {
    context: parsed.positionals[0] as string,
    ...(v.file !== undefined ? { file: v.file } : {}),
    tags: v.tag ?? [],
    buildArgs: v['build-arg'] ?? [],
    buildContexts: v['build-context'] ?? [],
    ...(v.target !== undefined ? { target: v.target } : {}),
    noCache: v['no-cache'] ?? false,
    labels: v.label ?? [],
    progress,
    outputs: v.output ?? [],
    ...(v['metadata-file'] !== undefined ? { metadataFile: v['metadata-file'] } : {}),
    ...(v.root !== undefined ? { root: v.root } : {}),
    ...(v.platform !== undefined ? { platform: v.platform } : {}),
    load: v.load ?? false,
    push: v.push ?? false,
    cacheTo: v['cache-to'] ?? [],
    cacheFrom: v['cache-from'] ?? [],
    secrets: v.secret ?? [],
    allowSecretInLayer: v['allow-secret-in-layer'] ?? [],
    insecureRegistries: v['insecure-registry'] ?? [],
    quiet: v.quiet ?? false,
    help: false,
  }
}

/** `K=V` pairs (a bare `K` takes its value from the environment, as buildx does). */
export function parseKeyValues(items: readonly string[], flag: string, env: NodeJS.ProcessEnv): Map<string, string> {
  const m = new Map<string, string>()
  for (const it of items) {
    const eq = it.indexOf('=')
    if (eq === 0) throw new InvalidArgumentError(`${flag} ${JSON.stringify(it)}: missing name before =`, { code: 'ERR_CLI_USAGE' })
    if (eq < 0) {
      const val = env[it]
      if (val !== undefined) m.set(it, val)
      continue
    }
    m.set(it.slice(0, eq), it.slice(eq + 1))
  }
  return m
}

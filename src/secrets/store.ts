/**
 * Build secrets (`--secret`): the store the build reads them from, and buildx's flag syntax.
 * Only the CLI reads files and the environment: it parses the flags here and hands `loadSecrets`
 * its own `env` and `readFile`; the rest of cairn sees a SecretStore.
 */
import { splitCsv } from '../core/csv.ts'
import { InvalidArgumentError } from '../core/errors.ts'

/** The secrets of one build, by id. Values are never logged, hashed into keys, or written to disk by cairn. */
export interface SecretStore {
  /** The value of a secret, or undefined when the build was not given it. */
  get(id: string): Buffer | undefined
  /** Every id the build was given. */
  ids(): string[]
}

/** Where one `--secret` comes from: a file or an environment variable. */
export interface SecretSource {
  id: string
  file?: string
  env?: string
}

/** BuildKit's limit on one secret (session/secrets/secretsprovider MaxSecretSize). */
export const MAX_SECRET_BYTES = 500 * 1024

const flagError = (spec: string, why: string, hint = 'e.g. --secret id=npmrc,src=$HOME/.npmrc or --secret id=token,env=GITHUB_TOKEN') =>
  new InvalidArgumentError(`--secret ${JSON.stringify(spec)}: ${why}`, { code: 'ERR_CLI_SECRET', hint })

/**
 * Parses one `--secret` value as buildx does: `id=`, `src=`/`source=`, `env=`, `type=file|env`
 * (with `type=env`, `src=` names the variable). Without `src` and `env` the source is decided at
 * load time (an env variable named like the id if set, else a file of that name).
 */
export function parseSecretFlag(spec: string): SecretSource {
  const fields = splitCsv(spec, '--secret')
  let type: string | undefined
  const s: { id?: string; file?: string; env?: string } = {}
  for (const field of fields) {
    const eq = field.indexOf('=')
    if (eq < 0) throw flagError(spec, `invalid field '${field}' must be a key=value pair`)
    const key = field.slice(0, eq).toLowerCase()
    const value = field.slice(eq + 1)
    switch (key) {
      case 'type':
        if (value !== 'file' && value !== 'env') throw flagError(spec, `unsupported secret type ${JSON.stringify(value)}`, 'type is file or env')
        type = value
        break
      case 'id':
        s.id = value
        break
      case 'src':
      case 'source':
        s.file = value
        break
      case 'env':
        s.env = value
        break
      default:
        throw flagError(spec, `unexpected key '${key}' in '${field}'`, 'the keys are id, src (or source), env and type')
    }
  }
  if (type === 'env' && !s.env) {
    if (s.file !== undefined) s.env = s.file
    delete s.file
  }
  if (!s.id) throw flagError(spec, 'secret missing ID', 'add id=<name the Dockerfile uses in --mount=type=secret,id=...>')
  return { id: s.id, ...(s.file ? { file: s.file } : {}), ...(s.env ? { env: s.env } : {}) }
}

export interface LoadSecretsOptions {
  env: Readonly<Record<string, string | undefined>>
  readFile(path: string): Promise<Buffer>
}

export interface LoadedSecrets {
  store: SecretStore
  /** Secrets that were asked for but have no value (an unset env variable): messages for the user. */
  notes: string[]
}

/**
 * Reads every secret once (later flags for the same id win, as in buildx). An unset env variable
 * leaves the secret out (a `required=true` mount then fails, an optional one is skipped) instead
 * of giving an empty secret; a missing file is an error.
 */
export async function loadSecrets(sources: readonly SecretSource[], o: LoadSecretsOptions): Promise<LoadedSecrets> {
  const byId = new Map<string, SecretSource>()
  for (const s of sources) byId.set(s.id, s)
  const values = new Map<string, Buffer>()
  const notes: string[] = []
  for (const src of byId.values()) {
    let env = src.env
    let file = src.file
    if (env === undefined && file === undefined) {
      if (o.env[src.id] !== undefined) env = src.id
      else file = src.id
    }
    let value: Buffer
    if (env !== undefined) {
      const v = o.env[env]
      if (v === undefined) {
        notes.push(`secret "${src.id}": environment variable ${env} is not set; the secret is not provided`)
        continue
      }
      value = Buffer.from(v)
    } else {
      try {
        value = await o.readFile(file as string)
      } catch (err) {
        const code = (err as NodeJS.ErrnoException).code
        throw new InvalidArgumentError(`--secret id=${src.id}: cannot read ${file}${code ? ` (${code})` : ''}`, {
          code: 'ERR_CLI_SECRET',
          hint:
            src.file === undefined
              ? `without src= or env=, the secret is read from the env variable ${src.id} or the file ${src.id}; pass src=<file> or env=<VAR>`
              : 'check the src= path',
        })
      }
    }
    if (value.length > MAX_SECRET_BYTES) {
      throw new InvalidArgumentError(`--secret id=${src.id}: the secret is ${value.length} bytes; the limit is ${MAX_SECRET_BYTES}`, {
        code: 'ERR_CLI_SECRET',
        hint: 'mount large credentials files from the build context or a stage instead',
      })
    }
    values.set(src.id, value)
  }
  return { store: createSecretStore(values), notes }
}

/** A store over values already in memory (tests, the CLI after loading). */
export function createSecretStore(values: ReadonlyMap<string, Buffer> | Readonly<Record<string, string | Buffer>>): SecretStore {
  const m = new Map<string, Buffer>()
  const entries = values instanceof Map ? [...values.entries()] : Object.entries(values)
  for (const [k, v] of entries) m.set(k, Buffer.isBuffer(v) ? Buffer.from(v) : Buffer.from(v as string))
  return {
    get: (id) => m.get(id),
    ids: () => [...m.keys()],
  }
}

/** A store without secrets. */
export const EMPTY_SECRETS: SecretStore = { get: () => undefined, ids: () => [] }

/**
 * The no-op memo. A build whose every input is unchanged since an earlier successful build of the
 * same command line yields that build's image again, already in cairn's image store: parsing the
 * Dockerfile, hashing the context and solving the graph would only rediscover it. After such a build
 * cairn records what it depended on; the next identical invocation checks those dependencies with
 * stat and a few small reads, prints the all-cached progress and metadata, and exits, without loading
 * the builder.
 *
 * A record is written only for builds that touch nothing outside this machine and write nothing but
 * cairn's image store (no --cache-to/--cache-from, --push, file outputs, --no-cache, named contexts,
 * registry base images or ADD of URLs), and it is keyed by the flags, working directory and the
 * environment variables a build reads. Its dependencies are:
 * - every entry of the context directory, by lstat (type, mode, owner, size, mtime, ctime, inode);
 *   a write, chmod, chown, rename, create or delete changes a ctime (of the file or its directory);
 * - the Dockerfile, the ignore files and the secret files, by the same stat signature;
 * - the names → manifest digests in `<root>/images/index.json` the build resolved or wrote;
 * - the manifest and config of the output image in the content store;
 * - the cairn build itself (a signature of its bundle).
 * Racy entries (changed less than RACY_MS before the build started) make the build unrecordable:
 * a change in the same clock tick as an earlier one could otherwise go unseen.
 *
 * This module is loaded before anything else (bundled alone as dist/bundle/replay.cjs, which
 * bin/cairn.cjs requires), so it imports only node builtins and the small flag parsers (argv,
 * -o and --secret values).
 */
import { execFileSync } from 'node:child_process'
import { createHash } from 'node:crypto'
import { existsSync, lstatSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, type Stats, statSync, writeFileSync } from 'node:fs'
import { join, resolve } from 'node:path'
import { type OutputSpec, parseOutputSpec } from '../export/output-spec.ts'
import { parseSecretFlag, type SecretSource } from '../secrets/store.ts'
import { type BuildArgs, parseBuildArgs } from './args.ts'

export const MEMO_FORMAT = 'cairn-noop-memo/1'
/** Files changed this close before the build started make it unrecordable. */
export const RACY_MS = 1000
/** A context larger than this is not memoised (the walk would cost more than it saves). */
const MAX_ENTRIES = 100_000

export interface MemoRecord {
  format: string
  /** The cairn build that wrote it. */
  version: string
  context: { dir: string; digest: string; entries: number }
  /** Paths outside the walk (Dockerfile, ignore files, secret sources) → stat signature. */
  files: Record<string, string>
  /** Image store names → manifest digests (base images resolved from the store, the outputs). */
  images: Record<string, string>
  /** Content-store digests the output needs (its manifest and config). */
  blobs: string[]
  /** Progress names of the steps, in the order the build reported them. */
  steps: string[]
  /** Progress names of the exports (`exporting to image`). */
  exports: string[]
  /** Build warnings, already redacted. */
  warnings: { rule: string; message: string }[]
  /** The metadata file content, already redacted, with every step marked cached. */
  metadata: Record<string, unknown>
}

/** Whether an invocation may be answered from (and recorded in) the memo. */
export function memoEligible(a: BuildArgs): boolean {
  if (a.help || a.noCache || a.push || a.quiet) return false
  if (a.cacheTo.length > 0 || a.cacheFrom.length > 0 || a.buildContexts.length > 0) return false
  if (a.progress === 'rawjson' || a.file === '-' || a.context === '-') return false
  // only the default output (cairn's image store, from -t) or -o type=image without push
  let outputs: OutputSpec[]
  try {
    outputs = a.outputs.map(parseOutputSpec)
  } catch {
    return false // the build reports the bad flag
  }
  return outputs.every((o) => o.type === 'image' && !o.push) && (a.tags.length > 0 || outputs.length > 0 || a.load)
}

export function stateRoot(a: BuildArgs, env: NodeJS.ProcessEnv): string {
  return resolve(a.root ?? (env.CAIRN_ROOT || '/var/lib/cairn'))
}

/**
 * The environment a memoisable build reads: SOURCE_DATE_EPOCH, BuildKit's build-time variables,
 * the state root, and the variables `--build-arg NAME` (no value) takes its value from. Nothing
 * else can change its result, and leaving the rest out keeps a CI job's per-run variables from
 * defeating the memo (and secrets from reaching its key).
 */
export function memoEnv(a: BuildArgs, env: NodeJS.ProcessEnv): [string, string][] {
  const named = new Set(a.buildArgs.filter((b) => !b.includes('=')))
  const vars: [string, string][] = Object.keys(env)
    .filter((k) => k === 'SOURCE_DATE_EPOCH' || k === 'CAIRN_ROOT' || k.startsWith('BUILDKIT_') || named.has(k))
    .sort()
    .map((k) => [k, env[k] ?? ''])
  // a secret read from a variable: whether it is set (never its value)
  for (const spec of a.secrets) {
    let s: SecretSource
    try {
      s = parseSecretFlag(spec)
    } catch {
      continue // the build reports the bad flag
    }
    // without src= or env=, a variable named like the id is used when set
    const name = s.env ?? (s.file === undefined ? s.id : undefined)
    if (name) vars.push([`secret-env:${name}`, env[name] === undefined ? 'unset' : 'set'])
  }
  return vars
}

/**
 * The memo file of one invocation: its flags (all but --metadata-file, which says where the result is
 * described, not what is built), working directory and the environment it reads (memoEnv).
 */
export function memoPath(root: string, a: BuildArgs, cwd: string, env: NodeJS.ProcessEnv): string {
  const h = createHash('sha256')
  const { metadataFile: _, ...flags } = a
  h.update(`${MEMO_FORMAT}\0${cwd}\0${JSON.stringify(flags)}\0${JSON.stringify(memoEnv(a, env))}`)
  return join(root, 'memo', 'noop', `${h.digest('hex').slice(0, 32)}.json`)
}

const statSig = (st: Stats): string => `${st.mode}:${st.uid}:${st.gid}:${st.size}:${st.mtimeMs}:${st.ctimeMs}:${st.ino}:${st.dev}`

/** The stats of a path and, for a symlink (a Dockerfile may be one), of what it points to. */
function statsOf(path: string): Stats[] {
  const l = lstatSync(path, { throwIfNoEntry: false })
  if (!l) return []
  const t = l.isSymbolicLink() ? statSync(path, { throwIfNoEntry: false }) : undefined
  return t ? [l, t] : [l]
}

/** The stat signature of one path ('-' when it does not exist); a symlink's includes its target's. */
export function fileSignature(path: string): string {
  const all = statsOf(path)
  return all.length === 0 ? '-' : all.map(statSig).join('>')
}

/** A file's signature, or undefined when it (or its symlink's target) changed at or after `notBefore` (racy). */
function steadySignature(path: string, notBefore: number): string | undefined {
  const all = statsOf(path)
  if (all.some((st) => st.ctimeMs >= notBefore || st.mtimeMs >= notBefore)) return undefined
  return all.length === 0 ? '-' : all.map(statSig).join('>')
}

export interface TreeSignature {
  digest: string
  /** Entries seen, the directory itself included. */
  entries: number
  /** The newest ctime or mtime seen (ms). */
  newest: number
}

const FIND_FORMAT = '%P\\0%y %m %U %G %s %T@ %C@ %i %D\\0'

/**
 * Digest of the stat signatures of every entry under `dir`; undefined if it cannot be walked. GNU
 * find walks it (≈10 ms for W1's 2,000 files, half of what lstatSync costs in a fresh node), in
 * readdir order: stable while a directory is unchanged, and a changed directory is a changed tree anyway.
 */
export function treeSignature(dir: string): TreeSignature | undefined {
  let out: Buffer
  try {
    const st = lstatSync(dir)
    if (!st.isDirectory()) return undefined
    out = execFileSync('find', [dir, '-printf', FIND_FORMAT], { maxBuffer: 256 << 20, stdio: ['ignore', 'pipe', 'ignore'] })
  } catch {
    return jsTreeSignature(dir)
  }
  const fields = out.toString('latin1').split('\0')
  let newest = 0
  for (let i = 1; i < fields.length; i += 2) {
    const f = (fields[i] as string).split(' ')
    newest = Math.max(newest, Number(f[5]) * 1000, Number(f[6]) * 1000)
  }
  return { digest: `find:${createHash('sha256').update(out).digest('hex')}`, entries: (fields.length - 1) / 2, newest }
}

/** The same without find: a sorted lstat walk. */
function jsTreeSignature(dir: string): TreeSignature | undefined {
  const h = createHash('sha256')
  let entries = 1 // the directory itself, as find counts it
  let newest = 0
  const visit = (abs: string, rel: string): boolean => {
    let names: string[]
    try {
      names = readdirSync(abs)
    } catch {
      return false
    }
    names.sort()
    for (const name of names) {
      if (++entries > MAX_ENTRIES) return false
      const p = `${abs}/${name}`
      const r = rel ? `${rel}/${name}` : name
      const st = lstatSync(p, { throwIfNoEntry: false })
      if (!st) return false
      newest = Math.max(newest, st.ctimeMs, st.mtimeMs)
      h.update(`${r}\0${statSig(st)}\n`)
      if (st.isDirectory() && !visit(p, r)) return false
    }
    return true
  }
  let top: Stats
  try {
    top = lstatSync(dir)
  } catch {
    return undefined
  }
  if (!top.isDirectory()) return undefined
  newest = Math.max(top.ctimeMs, top.mtimeMs)
  h.update(`.\0${statSig(top)}\n`)
  if (!visit(dir, '')) return undefined
  return { digest: `js:${h.digest('hex')}`, entries, newest }
}

export interface MemoInput {
  root: string
  args: BuildArgs
  cwd: string
  env: NodeJS.ProcessEnv
  version: string
  /** When the build started (ms since the epoch): anything changed after RACY_MS before it is racy. */
  startedAt: number
  contextDir: string
  files: readonly string[]
  images: Record<string, string>
  blobs: readonly string[]
  steps: readonly string[]
  exports: readonly string[]
  warnings: readonly { rule: string; message: string }[]
  metadata: Record<string, unknown>
}

/** Writes the memo of a successful build; returns false (and writes nothing) when an input is racy or too large. */
export function recordMemo(m: MemoInput): boolean {
  const notBefore = m.startedAt - RACY_MS
  const tree = treeSignature(m.contextDir)
  if (!tree || tree.newest >= notBefore) return false
  const files: Record<string, string> = {}
  for (const f of m.files) {
    const sig = steadySignature(f, notBefore)
    if (sig === undefined) return false
    files[f] = sig
  }
  const steps = (m.metadata['cairn.steps'] as { name: string }[] | undefined)?.map((s) => ({ name: s.name, cached: true, source: 'local', durationMs: 0 }))
  const rec: MemoRecord = {
    format: MEMO_FORMAT,
    version: m.version,
    context: { dir: m.contextDir, digest: tree.digest, entries: tree.entries },
    files,
    images: m.images,
    blobs: [...m.blobs],
    steps: [...m.steps],
    exports: [...m.exports],
    warnings: [...m.warnings],
    metadata: { ...m.metadata, ...(steps ? { 'cairn.steps': steps } : {}) },
  }
  const path = memoPath(m.root, m.args, m.cwd, m.env)
  const dir = join(path, '..')
  mkdirSync(dir, { recursive: true })
  const tmp = `${path}.${process.pid}.tmp`
  writeFileSync(tmp, JSON.stringify(rec))
  renameSync(tmp, path)
  prune(dir)
  return true
}

/** Memos kept per root (one per command line and environment); the least recently written go first. */
const MAX_MEMOS = 256

function prune(dir: string): void {
  const names = readdirSync(dir).filter((n) => n.endsWith('.json'))
  if (names.length <= MAX_MEMOS) return
  const byAge = names.map((n) => ({ n, t: lstatSync(join(dir, n), { throwIfNoEntry: false })?.mtimeMs ?? 0 })).sort((x, y) => x.t - y.t)
  for (const { n } of byAge.slice(0, names.length - MAX_MEMOS)) rmSync(join(dir, n), { force: true })
}

function readJSON<T>(path: string): T | undefined {
  try {
    return JSON.parse(readFileSync(path, 'utf8')) as T
  } catch {
    return undefined
  }
}

/** The memo of this invocation if every dependency still matches, else undefined. */
export function validMemo(root: string, a: BuildArgs, cwd: string, env: NodeJS.ProcessEnv, version: string): MemoRecord | undefined {
  const rec = readJSON<MemoRecord>(memoPath(root, a, cwd, env))
  if (!rec || rec.format !== MEMO_FORMAT || rec.version !== version) return undefined
  for (const [f, sig] of Object.entries(rec.files)) if (fileSignature(f) !== sig) return undefined
  const store = readJSON<{ images?: Record<string, { manifest?: string }> }>(join(root, 'images', 'index.json'))?.images ?? {}
  for (const [name, digest] of Object.entries(rec.images)) if (store[name]?.manifest !== digest) return undefined
  for (const d of rec.blobs) if (!existsSync(join(root, 'content', 'blobs', 'sha256', d.replace(/^sha256:/, '')))) return undefined
  const tree = treeSignature(rec.context.dir)
  if (!tree || tree.digest !== rec.context.digest) return undefined
  return rec
}

/** BuildKit's plain progress for an all-cached build. */
export function renderNoop(rec: MemoRecord): string {
  let out = ''
  for (const w of rec.warnings) out += `WARNING: ${w.rule}: ${w.message}\n`
  let n = 0
  for (const s of rec.steps) out += `#${++n} ${s}\n#${n} CACHED\n\n`
  for (const e of rec.exports) out += `#${++n} ${e}\n#${n} DONE 0.0s\n\n`
  return out
}

export interface ReplayIO {
  cwd: string
  /** The cairn build (bundle signature); without one nothing is replayed. */
  version: string | undefined
  stderr(s: string): void
}

/**
 * Answers `cairn build …` from the memo when nothing it depends on changed: returns the exit code,
 * or undefined when the build must run (any doubt, any error).
 */
export function tryReplay(argv: readonly string[], env: NodeJS.ProcessEnv, io: ReplayIO): number | undefined {
  if (argv[0] !== 'build' || !io.version || env.CAIRN_NO_MEMO) return undefined
  try {
    const a = parseBuildArgs(argv.slice(1))
    if (!memoEligible(a)) return undefined
    const rec = validMemo(stateRoot(a, env), a, io.cwd, env, io.version)
    if (!rec) return undefined
    if (a.metadataFile) writeFileSync(resolve(io.cwd, a.metadataFile), `${JSON.stringify({ ...rec.metadata, 'cairn.noop': true }, null, 2)}\n`)
    io.stderr(renderNoop(rec))
    return 0
  } catch {
    return undefined
  }
}

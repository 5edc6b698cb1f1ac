import type { SolvedRecord } from '../solver/solver.ts'
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises'
import { dirname } from 'node:path'

/** What cairn remembers of a step between builds, to say why it was not cached next time. */
export interface StepMemory {
  name: string
  description?: string
  deps: SolvedRecord['deps']
  /** Display names of the step's inputs (same order as deps). */
  inputs: string[]
}

export type BuildMemory = Record<string, StepMemory>

const MAX_ITEMS = 4

/** Flattens JSON into `path → scalar` (arrays of strings like `env` by `NAME=` where possible). */
function flatten(v: unknown, path: string, out: Map<string, string>): void {
  if (Array.isArray(v)) {
    if (v.every((x) => typeof x === 'string' && /^[A-Za-z_][A-Za-z0-9_]*=/.test(x))) {
      for (const kv of v as string[]) out.set(`${path}.${kv.slice(0, kv.indexOf('='))}`, kv.slice(kv.indexOf('=') + 1))
      return
    }
    v.forEach((x, i) => flatten(x, `${path}[${i}]`, out))
  } else if (v !== null && typeof v === 'object') {
    for (const [k, x] of Object.entries(v)) flatten(x, path ? `${path}.${k}` : k, out)
  } else out.set(path, JSON.stringify(v))
}

/** Decodes BuildKit's file-op envelope (base64 actions) so its fields can be compared. */
function parseDescription(d: string): unknown {
  try {
    const j = JSON.parse(d) as { Type?: string; Actions?: string[] }
    if (j.Type === 'buildkit.file.v0' && Array.isArray(j.Actions)) {
      return { ...j, Actions: j.Actions.map((a) => JSON.parse(Buffer.from(a, 'base64').toString('utf8')) as unknown) }
    }
    return j
  } catch {
    return { description: d }
  }
}

const label = (path: string): string =>
  path
    .replace(/^Exec\.meta\.env\./, 'env ')
    .replace(/^Exec\.meta\./, '')
    .replace(/^Exec\./, '')
    .replace(/^Actions\[(\d+)\]\./, 'copy ')

/**
 * Why a step missed the cache, by comparing it with what the previous build recorded for the same
 * step: its own definition (command, env names, working dir, user, copy options — values are not
 * printed, they may hold secrets), the files it reads, or an input that changed.
 */
export function explainMiss(prev: StepMemory | undefined, now: StepMemory): string {
  if (!prev) return 'no earlier build of this step is recorded in this --root (first build, or a fresh machine without --cache-from)'
  const reasons: string[] = []
  if (prev.description !== undefined && now.description !== undefined && prev.description !== now.description) {
    const a = new Map<string, string>()
    const b = new Map<string, string>()
    flatten(parseDescription(prev.description), '', a)
    flatten(parseDescription(now.description), '', b)
    const changed = [...new Set([...a.keys(), ...b.keys()])].filter((k) => a.get(k) !== b.get(k)).map(label)
    reasons.push(`its definition changed (${changed.slice(0, MAX_ITEMS).join(', ')}${changed.length > MAX_ITEMS ? ', …' : ''})`)
  }
  now.deps.forEach((d, i) => {
    const p = prev.deps[i]
    const input = (now.inputs[i] ?? `input ${i}`).replace(/^\[internal\] load build context$/, 'the build context')
    if (!p) return
    if (d.content !== undefined && p.content !== undefined && d.content !== p.content) reasons.push(`the files it reads from ${input} changed`)
    else if (d.input !== p.input && d.content === undefined) reasons.push(`its input changed: ${input}`)
  })
  if (reasons.length === 0) return 'its key is unchanged since the last build, but the result is not in the cache (evicted, --no-cache, or not exported with mode=max)'
  return reasons.join('; ')
}

/**
 * The step memory of one build configuration (context, Dockerfile, target) under `--root`: loaded
 * before a build to explain its misses, saved after it.
 */
export class MissExplainer {
  readonly #path: string
  #prev: BuildMemory = {}
  constructor(path: string) {
    this.#path = path
  }

  async load(): Promise<this> {
    try {
      this.#prev = JSON.parse(await readFile(this.#path, 'utf8')) as BuildMemory
    } catch {
      this.#prev = {}
    }
    return this
  }

  explain(id: string, now: StepMemory): string {
    return explainMiss(this.#prev[id], now)
  }

  async save(steps: Iterable<[string, StepMemory]>): Promise<void> {
    const next: BuildMemory = { ...this.#prev }
    for (const [id, m] of steps) next[id] = m
    await mkdir(dirname(this.#path), { recursive: true })
    const tmp = `${this.#path}.${process.pid}.tmp`
    await writeFile(tmp, JSON.stringify(next))
    await rename(tmp, this.#path)
  }
}

import assert from 'node:assert/strict'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, describe, it } from 'node:test'
import type { Digest } from '../core/digest.ts'
import { type ChecksumOptions, createContentHasher, type EntrySpec, checksumEntries } from './index.ts'
import { materialize } from './testutil.ts'

interface GoldenEntry {
  path: string
  type: 'file' | 'dir' | 'symlink'
  mode: string
  uid: number
  gid: number
  content: string | null
  target: string | null
  xattrs: Record<string, string>
  header_digest?: Digest
}
interface GoldenQuery {
  path: string
  followLinks: boolean
  wildcard: boolean
  includePatterns: string[]
  excludePatterns: string[]
  result: string
}
interface GoldenCase {
  name: string
  kind: string
  setup?: 'snapshot-scan' | 'handle-change'
  tree?: GoldenEntry[]
  queries?: GoldenQuery[]
  expected: Digest
}

const goldens = JSON.parse(readFileSync(new URL('../../../shared/conformance/buildkit-contenthash/goldens.json', import.meta.url), 'utf8')) as { cases: GoldenCase[] }
const cases = goldens.cases.filter((c) => c.kind === 'contenthash')

function toSpecs(tree: GoldenEntry[]): EntrySpec[] {
  return tree.map((e) => ({
    path: e.path, type: e.type, mode: Number.parseInt(e.mode, 8), uid: e.uid, gid: e.gid,
    content: e.content, target: e.target, xattrs: e.xattrs, headerDigest: e.header_digest ?? null,
  }))
}

function toOpts(q: GoldenQuery): ChecksumOptions {
  return { followLinks: q.followLinks, wildcard: q.wildcard, includePatterns: q.includePatterns, excludePatterns: q.excludePatterns }
}

const tmp = mkdtempSync(join(tmpdir(), 'cairn-goldens-'))
after(() => rmSync(tmp, { recursive: true, force: true }))

describe('BuildKit contenthash goldens (entry list)', () => {
  it('has the 17 contenthash cases', () => assert.equal(cases.length, 17))
  for (const c of cases) {
    it(c.name, async () => {
      const specs = toSpecs(c.tree ?? [])
      for (const q of c.queries ?? []) assert.equal(await checksumEntries(specs, q.path, toOpts(q)), c.expected, `${q.path} ${JSON.stringify(toOpts(q))}`)
    })
  }
})

describe('BuildKit contenthash goldens (on disk)', () => {
  let n = 0
  for (const c of cases) {
    it(`${c.name} (${c.setup === 'handle-change' ? 'context' : 'snapshot'} mode)`, async () => {
      const root = join(tmp, String(n++))
      materialize(root, toSpecs(c.tree ?? []))
      const hasher = createContentHasher(root, { mode: c.setup === 'handle-change' ? 'context' : 'snapshot' })
      for (const q of c.queries ?? []) assert.equal(await hasher.checksum(q.path, toOpts(q)), c.expected, `${q.path} ${JSON.stringify(toOpts(q))}`)
    })
  }
})

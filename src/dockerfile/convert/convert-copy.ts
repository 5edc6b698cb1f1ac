/** COPY / ADD → FileOp copy actions (dockerfile2llb dispatchCopy): sources, URLs, heredocs, --link, --parents, --chmod. */
import { posix } from 'node:path'
import { type Digest, isDigest } from '../../core/digest.ts'
import type { BuildRef } from '../../ops/build-ref.ts'
import { parseModeStr } from '../../ops/file/chmod.ts'
import { type CopyAction, FileOp } from '../../ops/file-op.ts'
import { HttpSourceOp, urlFilename } from '../../ops/http-source.ts'
import { MergeOp } from '../../ops/merge-op.ts'
import type { Vertex } from '../../solver/types.ts'
import type { AddInstruction, CopyInstruction } from '../instructions/index.ts'
import type { ConvertOptions } from './convert.ts'
import type { Conv, StageState } from './state.ts'

const isURL = (s: string) => /^https?:\/\//i.test(s)
const isGit = (s: string) => /^git@|^git:\/\/|^ssh:\/\//i.test(s) || (/^https?:\/\//i.test(s) && /\.git(#.*)?$/i.test(s))

export async function dispatchCopy(
  c: Conv,
  o: ConvertOptions,
  st: StageState,
  idx: number,
  cmd: CopyInstruction | AddInstruction,
  chain: number[],
): Promise<void> {
  const r = cmd.range
  const K = cmd.kind.toUpperCase()
  const origin = `${o.file}:${r.startLine}`
  const add = cmd.kind === 'add' ? cmd : undefined
  if (add?.keepGitDir !== undefined)
    c.fail(
      'ADD --keep-git-dir is not supported yet: cairn cannot add git repositories',
      r,
      'clone the repository in a RUN step, or copy a checkout from the build context',
    )
  const sources = cmd.sources.map((s) => c.expand(st, s, r))
  for (const s of sources) {
    if (isGit(s)) c.fail(`${K} from a git repository (${s}) is not supported yet`, r, 'clone it in a RUN step, or copy a checkout from the build context')
    if (isURL(s) && !add) c.fail("source can't be a URL for COPY", r, `use ADD ${s} instead`)
  }
  let checksum: Digest | undefined
  if (add?.checksum !== undefined) {
    const v = c.expand(st, add.checksum, r)
    if (!sources.every(isURL)) c.fail("checksum can't be specified for non-HTTP(S) sources", r, 'use --checksum only with ADD <https URL>')
    if (!isDigest(v)) c.fail(`invalid checksum digest ${JSON.stringify(v)}`, r, 'write --checksum=sha256:<64 hex digits>')
    checksum = v as Digest
  }

  let dest = c.expand(st, cmd.dest, r)
  const destIsDir = dest.endsWith('/') || dest === '.' || dest.endsWith('/.')
  dest = posix.resolve(st.workdir, dest) + (destIsDir ? '/' : '')
  if (dest === '//') dest = '/'
  const count = sources.length + cmd.heredocs.length
  if (count > 1 && !destIsDir) fail(c, r, `When using ${K} with more than one source file, the destination must be a directory and end with a /`)

  let fromText = ''
  let srcVertex: Vertex<BuildRef> = c.context()
  if (cmd.kind === 'copy' && cmd.from !== undefined) {
    const from = c.expand(st, cmd.from, r)
    srcVertex = await c.source(from, idx, chain, r)
    fromText = ` --from=${from}`
  }
  let chmod: number | undefined
  let modeStr: string | undefined
  if (cmd.chmod !== undefined) {
    const m = c.expand(st, cmd.chmod, r)
    if (/^[0-7]+$/.test(m)) {
      chmod = Number.parseInt(m, 8)
      if (chmod > 0o7777) c.fail(`invalid chmod parameter: '${m}'. it should be octal string and between 0 and 07777`, r)
    } else {
      try {
        parseModeStr(m)
      } catch (err) {
        c.fail((err as Error).message, r, 'use an octal mode (0755) or a symbolic one (u+x,go-w)')
      }
      modeStr = m
    }
  }
  const chown = cmd.chown !== undefined ? c.expand(st, cmd.chown, r) : undefined
  const excludes = cmd.excludes.map((e) => c.expand(st, e, r))
  const parents = cmd.kind === 'copy' && cmd.parents
  const link = cmd.link && chmod === undefined && modeStr === undefined

  // inputs: the base (unless scratch or --link), then each distinct source in order of use
  const hasBase = st.vertex !== undefined && !link
  const inputs: Vertex<BuildRef>[] = hasBase ? [st.vertex as Vertex<BuildRef>] : []
  const inputOf = (v: Vertex<BuildRef>) => {
    const i = inputs.indexOf(v)
    return i >= 0 ? i : inputs.push(v) - 1
  }
  const common = {
    dest,
    ...(chown ? { chown } : {}),
    ...(chmod !== undefined ? { chmod } : {}),
    ...(modeStr ? { modeStr } : {}),
  }
  const actions: CopyAction[] = []
  for (const s of sources) {
    if (isURL(s)) {
      const filename = urlFilename(s)
      const op = new HttpSourceOp(
        { url: s, filename, ...(checksum ? { checksum } : {}), origin },
        { layers: o.layers, workDir: o.workDir, fetch: o.fetch ?? globalThis.fetch },
      )
      const v: Vertex<BuildRef> = { id: c.id(idx, 'http'), name: `[internal] load remote file ${s}`, op, inputs: [], internal: true }
      actions.push({ kind: 'copy', input: inputOf(v), src: `/${filename}`, ...common, plain: true, ...(add?.unpack === true ? { unpack: true } : {}) })
      continue
    }
    let src = posix.resolve('/', s)
    let patterns: string[] | undefined
    if (parents) {
      // `--parents`: the part after `/./` (or the whole path) keeps its directories under dest
      const pivot = s.indexOf('/./')
      const rel = pivot >= 0 ? s.slice(pivot + 3) : s
      src = pivot >= 0 ? posix.resolve('/', s.slice(0, pivot)) : '/'
      patterns = [posix.normalize(rel).replace(/^(\.\/)+|^\/+/g, '')]
    }
    actions.push({
      kind: 'copy',
      input: inputOf(srcVertex),
      src,
      ...common,
      ...(add && add.unpack !== false ? { unpack: true } : {}),
      ...(excludes.length ? { excludes } : {}),
      ...(patterns ? { parents: patterns } : {}),
    })
  }
  for (const h of cmd.heredocs) {
    const data = h.expand ? c.expandRaw(st, h.content, r) : h.content
    const op = new FileOp(
      {
        hasBase: false,
        actions: [{ kind: 'mkfile', path: `/${h.name}`, mode: 0o644, data: Buffer.from(data) }],
        origin,
        createdBy: 'preparing inline document',
      },
      0,
      o,
    )
    const v: Vertex<BuildRef> = { id: c.id(idx, 'heredoc'), name: '[internal] preparing inline document', op, inputs: [], internal: true }
    actions.push({ kind: 'copy', input: inputOf(v), src: `/${h.name}`, ...common, plain: true })
  }

  const flags = [
    ...(fromText ? [fromText.trim()] : []),
    ...(chown ? [`--chown=${chown}`] : []),
    ...(cmd.chmod !== undefined ? [`--chmod=${chmod !== undefined ? cmd.chmod : modeStr}`] : []),
    ...(cmd.link ? ['--link'] : []),
    ...(parents ? ['--parents'] : []),
    ...excludes.map((e) => `--exclude=${e}`),
  ]
  const text = `${K}${flags.map((f) => ` ${f}`).join('')} ${[...sources, ...cmd.heredocs.map((h) => `<<${h.name}`)].join(' ')} ${cmd.dest}`
  const fileOp = new FileOp({ hasBase, actions, origin, createdBy: `${text} # buildkit` }, inputs.length, o)
  if (link && st.vertex) {
    // --link: the copy is built on scratch, then stacked on the stage without reading it
    const copied: Vertex<BuildRef> = { id: c.id(idx, 'link'), name: `${text} (layer)`, op: fileOp, inputs, internal: true }
    const merge: Vertex<BuildRef> = { id: c.id(idx, 'merge'), name: c.nextName(st, text), op: new MergeOp(2, origin), inputs: [st.vertex, copied] }
    c.addVertex(st, merge, `${text} # buildkit`)
    return
  }
  c.addVertex(st, { id: c.id(idx, 'copy'), name: c.nextName(st, text), op: fileOp, inputs }, `${text} # buildkit`)
}

function fail(c: Conv, r: CopyInstruction['range'], msg: string): never {
  return c.fail(msg, r)
}

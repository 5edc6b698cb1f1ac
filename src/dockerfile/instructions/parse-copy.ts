/** COPY and ADD: flags, sources and destination, inline (heredoc) sources. */
import { emptyEnv } from '../shell/env.ts'
import { ShellLex } from '../shell/lex.ts'
import { chompHeredocContent, tryParseHeredoc } from '../parser/heredoc.ts'
import type { Heredoc } from '../parser/types.ts'
import { base, errNoDestination, invalid, opt, type Request } from './request.ts'
import type { AddInstruction, CopyInstruction } from './types.ts'

function sourcesAndDest(req: Request, cmd: string) {
  const srcs = req.args.slice(0, -1)
  const dest = req.args[req.args.length - 1] as string
  if (tryParseHeredoc(dest)) throw invalid(`${cmd} cannot accept a heredoc as a destination`)
  const bodies = new Map(req.node.heredocs.map((h) => [h.name, h]))
  const sources: string[] = []
  const heredocs: Heredoc[] = []
  for (const src of srcs) {
    const marker = tryParseHeredoc(src)
    if (!marker) {
      sources.push(src)
      continue
    }
    let content = bodies.get(marker.name)?.content ?? ''
    if (marker.chomp) content = chompHeredocContent(content)
    heredocs.push({ ...marker, content })
  }
  return { sources, dest, heredocs }
}

const EXPAND = ['sources', 'dest', 'chown', 'chmod'] as const

export function parseCopy(req: Request): CopyInstruction {
  if (req.args.length < 2) throw errNoDestination('COPY')
  const f = req.flags
  const chown = f.string('chown')
  const from = f.string('from')
  const chmod = f.string('chmod')
  const link = f.bool('link')
  const excludes = f.strings('exclude')
  const parents = f.bool('parents')
  f.parse()
  const sd = sourcesAndDest(req, 'COPY')
  const fromValue = from()
  if (fromValue !== undefined && fromValue !== '') {
    // BuildKit expands --from with an empty environment and refuses any change (so no variables, no escapes)
    let same = false
    try {
      same = new ShellLex(req.escapeToken).processWord(fromValue, emptyEnv).word === fromValue
    } catch {
      same = false
    }
    if (!same) {
      throw invalid(
        'variable expansion is not supported for --from, define a new stage with FROM using ARG from global scope as a workaround',
        'ARG the value before the first FROM, add "FROM ${VAR} AS src" and use COPY --from=src',
      )
    }
  }
  return {
    ...base(req, 'copy', EXPAND),
    ...sd,
    ...opt('from', fromValue === '' ? undefined : fromValue),
    ...opt('chown', nonEmpty(chown())),
    ...opt('chmod', nonEmpty(chmod())),
    link: link() ?? false,
    parents: parents() ?? false,
    excludes: excludes(),
  }
}

export function parseAdd(req: Request): AddInstruction {
  if (req.args.length < 2) throw errNoDestination('ADD')
  const f = req.flags
  const chown = f.string('chown')
  const chmod = f.string('chmod')
  const link = f.bool('link')
  const keepGitDir = f.bool('keep-git-dir')
  const checksum = f.string('checksum')
  const unpack = f.bool('unpack')
  const excludes = f.strings('exclude')
  f.parse()
  const sd = sourcesAndDest(req, 'ADD')
  return {
    ...base(req, 'add', [...EXPAND, 'checksum']),
    ...sd,
    ...opt('chown', nonEmpty(chown())),
    ...opt('chmod', nonEmpty(chmod())),
    link: link() ?? false,
    excludes: excludes(),
    ...opt('checksum', nonEmpty(checksum())),
    ...opt('keepGitDir', keepGitDir()),
    ...opt('unpack', unpack()),
  }
}

const nonEmpty = (s: string | undefined): string | undefined => (s === '' ? undefined : s)

/**
 * Dockerfile text → AST, with BuildKit's parser behaviour (frontend/dockerfile/parser/parser.go): parser
 * directives, line continuations (comments and blank lines inside them skipped), heredocs, and the
 * per-instruction argument forms. Pure: takes text, returns nodes, throws DockerfileError.
 */
import { CairnError, DockerfileError, InvalidArgumentError } from '../../core/errors.ts'
import { trimLeftSpace } from '../shell/chars.ts'
import { DirectiveParser, validEscapeToken } from './directives.ts'
import { heredocsFromLine } from './heredoc.ts'
import { nodeFromLine } from './node-from-line.ts'
import type { Heredoc, Node, ParseOptions, ParseResult, ParseWarning } from './types.ts'

const HEREDOC_INSTRUCTIONS = new Set(['add', 'copy', 'run'])

export const EMPTY_CONTINUATION_URL = 'https://docs.docker.com/go/dockerfile/rule/no-empty-continuation/'

/** Splits into lines keeping their line endings (BuildKit's scanLines). */
function scanLines(text: string): string[] {
  const lines: string[] = []
  let start = 0
  for (;;) {
    const nl = text.indexOf('\n', start)
    if (nl < 0) break
    lines.push(text.slice(start, nl + 1))
    start = nl + 1
  }
  if (start < text.length) lines.push(text.slice(start))
  return lines
}

const trimNewline = (s: string): string => s.replace(/[\r\n]+$/, '')
const isComment = (line: string): boolean => trimLeftSpace(line).startsWith('#')

function continuationRegExp(escapeToken: string): RegExp {
  const e = `\\${escapeToken}`
  return new RegExp(`([^${e}])${e}[ \\t]*$|^${e}[ \\t]*$`)
}

function canContainHeredoc(node: Node): boolean {
  const target = node.value.toLowerCase() === 'onbuild' && node.subCommand ? node.subCommand : node
  return HEREDOC_INSTRUCTIONS.has(target.value.toLowerCase()) && !target.json
}

function located(err: unknown, file: string | undefined, startLine: number, endLine: number): DockerfileError {
  if (err instanceof DockerfileError) return err
  const range = { ...(file === undefined ? {} : { file }), startLine, endLine: Math.max(startLine, endLine) }
  const message = err instanceof Error ? err.message : String(err)
  const hint = err instanceof CairnError ? err.hint : undefined
  return new DockerfileError(message, range, { cause: err, ...(hint === undefined ? {} : { hint }) })
}

/** Parses a Dockerfile. Throws DockerfileError (with file and line) on malformed input. */
export function parse(text: string, opts: ParseOptions = {}): ParseResult {
  const file = opts.file
  const lines = scanLines(text)
  const directives = new DirectiveParser()
  let escapeToken = '\\'
  let contRe = continuationRegExp(escapeToken)
  const nodes: Node[] = []
  const warnings: ParseWarning[] = []
  let next = 0
  let currentLine = 0

  const processLine = (raw: string, stripLeft: boolean): string => {
    let token = trimNewline(raw)
    if (stripLeft) token = trimLeftSpace(token)
    try {
      const directive = directives.parseLine(token)
      if (directive?.name === 'escape') {
        escapeToken = validEscapeToken(directive.value)
        contRe = continuationRegExp(escapeToken)
      }
    } catch (err) {
      throw located(err, file, currentLine + 1, currentLine + 1)
    }
    return isComment(token) ? '' : token
  }
  const trimContinuation = (line: string): [string, boolean] =>
    contRe.test(line) ? [line.replace(contRe, '$1'), false] : [line, true]

  while (next < lines.length) {
    let raw = lines[next++] as string
    if (currentLine === 0 && raw.startsWith('\uFEFF')) raw = raw.slice(1)
    const first = processLine(raw, true)
    currentLine++
    const startLine = currentLine
    let [buf, isEndOfLine] = trimContinuation(first)
    if (isEndOfLine && buf.length === 0) continue

    let hasEmptyContinuation = false
    while (!isEndOfLine && next < lines.length) {
      const cont = lines[next++] as string
      const processed = processLine(cont, false)
      currentLine++
      if (isComment(cont)) continue
      if (trimLeftSpace(trimNewline(processed)).length === 0) {
        hasEmptyContinuation = true
        continue
      }
      let part: string
      ;[part, isEndOfLine] = trimContinuation(processed)
      buf += part
    }

    const line = buf
    if (hasEmptyContinuation) {
      warnings.push({
        rule: 'NoEmptyContinuation',
        message: `Empty continuation line found in: ${line}`,
        detail: 'Empty continuation lines will become errors in a future release',
        url: EMPTY_CONTINUATION_URL,
        range: { ...(file === undefined ? {} : { file }), startLine: currentLine, endLine: currentLine },
      })
    }

    let node: Node
    try {
      node = nodeFromLine(line, escapeToken)
    } catch (err) {
      throw located(err, file, startLine, currentLine)
    }

    if (canContainHeredoc(node) && line.includes('<<')) {
      let markers: ReturnType<typeof heredocsFromLine>
      try {
        markers = heredocsFromLine(line)
      } catch (err) {
        throw located(err, file, startLine, currentLine)
      }
      for (const marker of markers) {
        let content = ''
        let terminated = false
        while (next < lines.length) {
          const body = lines[next++] as string
          currentLine++
          let candidate = trimNewline(body)
          if (marker.chomp) candidate = candidate.replace(/^\t+/, '')
          if (candidate === marker.name) {
            terminated = true
            break
          }
          content += body
        }
        if (!terminated) {
          throw new DockerfileError(
            'unterminated heredoc',
            { ...(file === undefined ? {} : { file }), startLine, endLine: currentLine },
            { hint: `end the heredoc with a line holding only "${marker.name}"` },
          )
        }
        const heredoc: Heredoc = { ...marker, content }
        node.heredocs.push(heredoc)
      }
    }

    node.startLine = startLine
    node.endLine = currentLine
    if (node.subCommand) {
      node.subCommand.startLine = startLine
      node.subCommand.endLine = currentLine
    }
    nodes.push(node)
  }

  if (nodes.length === 0) {
    throw located(
      new InvalidArgumentError('file with no instructions', { hint: 'a Dockerfile needs at least a FROM instruction' }),
      file,
      Math.max(1, currentLine),
      Math.max(1, currentLine),
    )
  }

  return { directives: { ...directives.found }, nodes, warnings, escapeToken }
}

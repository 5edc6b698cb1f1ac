import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import { DockerfileError } from '../../core/errors.ts'
import { dump, goQuote } from './dump.ts'
import { chompHeredocContent, parseHeredoc } from './heredoc.ts'
import { parseWords } from './line-parsers.ts'
import { parse } from './parser.ts'

const dumps = (text: string) => parse(text).nodes.map(dump)

describe('directives', () => {
  test('syntax, escape and check at the top', () => {
    const r = parse('# syntax=docker/dockerfile:1\n# escape=`\n#check=skip=all\nFROM a\nRUN echo `\n  hi\n')
    assert.deepEqual(r.directives, { syntax: 'docker/dockerfile:1', escape: '`', check: 'skip=all' })
    assert.equal(r.escapeToken, '`')
    assert.deepEqual(dumps('# escape=`\nFROM a\nRUN a `\n b\n'), ['from "a"', 'run "a  b"'])
  })
  test('a comment or blank line ends the directive block', () => {
    assert.deepEqual(parse('# hello\n# escape=`\nFROM a\n').directives, {})
    assert.deepEqual(parse('\n# escape=`\nFROM a\n').escapeToken, '\\')
  })
  test('bad and repeated directives fail with the line', () => {
    assert.throws(() => parse('# escape=x\nFROM a\n', { file: 'df' }), {
      name: 'DockerfileError',
      message: /^df:1: invalid escape token 'x'/,
    })
    assert.throws(() => parse('# syntax=a\n# syntax=b\nFROM a\n'), {
      message: /Dockerfile:2: only one syntax parser directive can be used/,
    })
  })
})

describe('lines', () => {
  test('continuations skip comments and blank lines, and warn on the blank ones', () => {
    const r = parse('FROM a\nRUN a \\\n# comment\n\n  b\n')
    assert.deepEqual(r.nodes.map(dump), ['from "a"', 'run "a   b"'])
    assert.equal(r.nodes[1]?.startLine, 2)
    assert.equal(r.nodes[1]?.endLine, 5)
    assert.equal(r.warnings.length, 1)
    assert.equal(r.warnings[0]?.rule, 'NoEmptyContinuation')
    assert.equal(r.warnings[0]?.range.startLine, 5)
  })
  test('CRLF line endings and a BOM', () => {
    assert.deepEqual(dumps('\uFEFFFROM a\r\nRUN x \\\r\n y\r\n'), ['from "a"', 'run "x  y"'])
  })
  test('continuation at end of file', () => {
    assert.deepEqual(dumps('FROM a\nRUN x \\'), ['from "a"', 'run "x"'])
  })
  test('flags, json and fallback to shell form', () => {
    assert.deepEqual(dumps('FROM --platform=$P a AS b\nCOPY --from=b --chown="x y" a b\nCMD [ "a" , "b" ]\nCMD [a]\n'), [
      'from ["--platform=$P"] "a" "AS" "b"',
      'copy ["--from=b" "--chown=x y"] "a" "b"',
      'cmd "a" "b"',
      'cmd "[a]"',
    ])
  })
  test('JSON arrays of non-strings are an error', () => {
    assert.throws(() => parse('FROM a\nCMD ["a", 1]\n'), { message: /Dockerfile:2: when using JSON array syntax/ })
  })
  test('ENV/LABEL forms', () => {
    assert.deepEqual(dumps('FROM a\nENV a=b "c d"=e f="g h"\nENV x  y z\nLABEL k=v\n'), [
      'from "a"',
      'env "a" "b" "=" "\\"c d\\"" "e" "=" "f" "\\"g h\\"" "="',
      'env "x" "y z" ""',
      'label "k" "v" "="',
    ])
    assert.throws(() => parse('FROM a\nENV a=b c\n'), { message: /Dockerfile:2: Syntax error - can't find = in "c"/ })
  })
  test('HEALTHCHECK, ONBUILD, unknown instructions', () => {
    assert.deepEqual(dumps('FROM a\nHEALTHCHECK --interval=5s CMD ["x"]\nONBUILD ADD . /\nFOO bar\n'), [
      'from "a"',
      'healthcheck ["--interval=5s"] "CMD" "x"',
      'onbuild (add "." "/")',
      'foo ""',
    ])
    const onbuild = parse('FROM a\nONBUILD RUN make x\n').nodes[1]
    assert.deepEqual(onbuild?.args, ['RUN', 'make x'])
  })
  test('file with no instructions', () => {
    assert.throws(() => parse('# just a comment\n'), DockerfileError)
    assert.throws(() => parse(''), { message: /Dockerfile:1: file with no instructions/ })
  })
})

describe('heredocs', () => {
  test('RUN, COPY with several heredocs, <<- and quoted names', () => {
    const r = parse('FROM a\nRUN <<EOF\necho hi\nEOF\nCOPY <<-"A" <<B /d/\n\tx $v\n\tA\ny\nB\nRUN ["x", "<<EOF"]\n')
    const [, run, copy, json] = r.nodes
    assert.deepEqual(run?.heredocs, [{ name: 'EOF', content: 'echo hi\n', fileDescriptor: 0, expand: true, chomp: false }])
    assert.equal(run?.endLine, 4)
    assert.deepEqual(copy?.heredocs, [
      { name: 'A', content: '\tx $v\n', fileDescriptor: 0, expand: false, chomp: true },
      { name: 'B', content: 'y\n', fileDescriptor: 0, expand: true, chomp: false },
    ])
    assert.deepEqual(copy?.args, ['<<-"A"', '<<B', '/d/'])
    assert.deepEqual(json?.heredocs, [])
  })
  test('file descriptors and ONBUILD', () => {
    const r = parse('FROM a\nRUN 3<<X cat <&3\nx\nX\nONBUILD RUN <<E\nz\nE\n')
    assert.equal(r.nodes[1]?.heredocs[0]?.fileDescriptor, 3)
    assert.equal(r.nodes[2]?.heredocs[0]?.content, 'z\n')
  })
  test('unterminated heredoc', () => {
    assert.throws(() => parse('FROM a\nRUN <<EOF\necho\n'), { message: /Dockerfile:2: unterminated heredoc/ })
  })
  test('parseHeredoc and chomp', () => {
    assert.deepEqual(parseHeredoc('<<E"O"F'), { name: 'EOF', fileDescriptor: 0, expand: false, chomp: false })
    assert.equal(parseHeredoc('<<'), undefined)
    assert.equal(parseHeredoc('foo'), undefined)
    assert.equal(chompHeredocContent('\t\ta\n\tb\nc'), 'a\nb\nc')
  })
})

describe('helpers', () => {
  test('parseWords keeps quotes', () => {
    assert.deepEqual(parseWords('a "b c" d\\ e \'f\\\'', '\\'), ['a', '"b c"', 'd\\ e', "'f\\'"])
  })
  test('goQuote', () => {
    assert.equal(goQuote('a"\\\n\u0001é\u00a0'), '"a\\"\\\\\\n\\x01é\\u00a0"')
  })
})

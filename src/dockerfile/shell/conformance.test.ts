/**
 * BuildKit's own shell-lexer tables (frontend/dockerfile/shell/envVarTest and wordsTest), run unchanged.
 * envVarTest: rows are `PLATFORM | input | expected` with A=all, U=unix, W=windows; the environment is the one
 * BuildKit's lex_test.go uses (PWD=/home, SHELL=bash, KOREAN=한국어, NULL=). W rows are skipped: cairn builds
 * Linux images only, and on Windows BuildKit treats variable names case-insensitively ($pwd == $PWD).
 * wordsTest: `ENV k=v` lines add to the environment, other rows are `input | expected words, comma separated`.
 * BuildKit's test also declares a second pass (rawQuotes + skipUnsetEnv) but reads the already-consumed file
 * handle, so that pass never runs there; it is not run here either (its rows would not hold).
 */
import assert from 'node:assert/strict'
import { readFileSync } from 'node:fs'
import { test } from 'node:test'
import { envGetter } from './env.ts'
import { ShellError } from './errors.ts'
import { ShellLex } from './lex.ts'

const dataDir = new URL('../../../../shared/conformance/buildkit-dockerfile/shell/', import.meta.url)

test('envVarTest: every Linux row', () => {
  const lines = readFileSync(new URL('envVarTest', dataDir), 'utf8').split('\n')
  const env = envGetter(['PWD=/home', 'SHELL=bash', 'KOREAN=한국어', 'NULL='])
  const lex = new ShellLex('\\')
  let ran = 0
  let skipped = 0
  lines.forEach((raw, i) => {
    if (raw.startsWith('#')) return
    const line = raw.trim()
    if (line === '') return
    const parts = line.split('|')
    assert.equal(parts.length, 3, `line ${i + 1}`)
    const [platform, source, expected] = parts.map((p) => p.trim()) as [string, string, string]
    if (platform === 'W') {
      skipped++
      return
    }
    assert.ok(platform === 'A' || platform === 'U', `bad platform tag at line ${i + 1}`)
    ran++
    if (expected === 'error') {
      assert.throws(() => lex.processWord(source, env), ShellError, `line ${i + 1}: ${source} should fail`)
    } else {
      assert.equal(lex.processWord(source, env).word, expected, `line ${i + 1}: ${source}`)
    }
  })
  assert.ok(ran > 200, `ran ${ran} rows`)
  assert.equal(skipped, 2)
})

test('wordsTest: every row', () => {
  const lines = readFileSync(new URL('wordsTest', dataDir), 'utf8').split('\n')
  if (lines.at(-1) === '') lines.pop()
  const envs: string[] = []
  const lex = new ShellLex('\\')
  let ran = 0
  lines.forEach((line, i) => {
    if (line.startsWith('#')) return
    if (line.startsWith('ENV ')) {
      envs.push(line.slice(3).replace(/^ +/, ''))
      return
    }
    const parts = line.split('|')
    assert.equal(parts.length, 2, `line ${i + 1}`)
    const input = (parts[0] as string).trim()
    const expected = (parts[1] as string).replace(/^ +/, '').split(',')
    let got: string[]
    try {
      got = lex.processWords(input, envGetter(envs)).words
    } catch (err) {
      assert.ok(err instanceof ShellError)
      got = ['error']
    }
    assert.deepEqual(got, expected, `line ${i + 1}: ${input}`)
    ran++
  })
  assert.ok(ran >= 20, `ran ${ran} rows`)
})

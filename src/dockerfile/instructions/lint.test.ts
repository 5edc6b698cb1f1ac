import assert from 'node:assert/strict'
import { test } from 'node:test'
import { build } from './test-helpers.ts'

const rules = (df: string) => build(df).warnings.map((w) => `${w.range.startLine}:${w.rule}`)
const messages = (df: string) => build(df).warnings.map((w) => w.message)

test('a clean file has no warnings', () => {
  assert.deepEqual(rules('FROM a AS b\nENV A=1\nCMD ["x"]\n'), [])
})

test('StageNameCasing, FromAsCasing, ReservedStageName', () => {
  assert.deepEqual(rules('FROM a AS Build\nFROM b as c\nfrom d AS e\nFROM scratch AS scratch\n'), [
    '1:StageNameCasing',
    '2:FromAsCasing',
    '3:FromAsCasing',
    '3:ConsistentInstructionCasing',
    '4:ReservedStageName',
  ])
  assert.deepEqual(messages('FROM a as B\n'), ["Stage name 'B' should be lowercase", "'as' and 'FROM' keywords' casing do not match"])
})

test('JSONArgsRecommended unless a SHELL precedes', () => {
  assert.deepEqual(rules('FROM a\nCMD x\nENTRYPOINT y\n'), ['2:JSONArgsRecommended', '3:JSONArgsRecommended'])
  assert.deepEqual(messages('FROM a\nCMD x\n'), [
    'JSON arguments recommended for CMD to prevent unintended behavior related to OS signals',
  ])
  assert.deepEqual(rules('FROM a\nSHELL ["sh", "-c"]\nCMD x\n'), [])
})

test('MultipleInstructionsDisallowed points at the ignored one', () => {
  assert.deepEqual(rules('FROM a\nCMD ["a"]\nCMD ["b"]\nHEALTHCHECK NONE\n'), ['2:MultipleInstructionsDisallowed'])
})

test('SecretsUsedInArgOrEnv, LegacyKeyValueFormat, MaintainerDeprecated', () => {
  assert.deepEqual(
    rules('ARG GITHUB_TOKEN\nFROM a\nENV DB_PASSWORD=x PUBLIC_KEY=y\nLABEL a b\nENV k v\nMAINTAINER me\nARG AUTH\n'),
    [
      '1:SecretsUsedInArgOrEnv',
      '3:SecretsUsedInArgOrEnv',
      '4:LegacyKeyValueFormat',
      '5:LegacyKeyValueFormat',
      '6:MaintainerDeprecated',
      '7:SecretsUsedInArgOrEnv',
    ],
  )
  assert.ok(messages('FROM a\nENV k v\n').includes('"ENV key=value" should be used instead of legacy "ENV key value" format'))
})

test('ConsistentInstructionCasing follows the majority', () => {
  assert.deepEqual(rules('from a\nrun x\nRUN y\nRun z\n'), ['3:ConsistentInstructionCasing', '4:ConsistentInstructionCasing'])
})

test('NoEmptyContinuation comes through from the parser', () => {
  const w = build('FROM a\nRUN a \\\n\n b\n').warnings
  assert.deepEqual(
    w.map((x) => [x.rule, x.message, x.range.startLine]),
    [['NoEmptyContinuation', 'Empty continuation line', 4]],
  )
})

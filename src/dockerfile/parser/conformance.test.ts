/**
 * BuildKit's parser golden files (frontend/dockerfile/parser/testfiles and testfiles-negative), unchanged.
 * Every positive case must dump exactly to its `result`; every negative case must throw a DockerfileError
 * naming a line. No case is treated differently.
 */
import assert from 'node:assert/strict'
import { readdirSync, readFileSync } from 'node:fs'
import { describe, test } from 'node:test'
import { DockerfileError } from '../../core/errors.ts'
import { dumpAll } from './dump.ts'
import { parse } from './parser.ts'

const root = new URL('../../../../shared/conformance/buildkit-dockerfile/parser/', import.meta.url)
const DIFFERENT: Record<string, string> = {}

const cases = (dir: string) => readdirSync(new URL(`${dir}/`, root)).sort()

describe('parser conformance: testfiles', () => {
  const names = cases('testfiles')
  test('there are cases', () => assert.ok(names.length >= 30))
  for (const name of names) {
    test(name, { skip: DIFFERENT[name] }, () => {
      const text = readFileSync(new URL(`testfiles/${name}/Dockerfile`, root), 'utf8')
      const expected = readFileSync(new URL(`testfiles/${name}/result`, root), 'utf8').replace(/\r\n/g, '\n')
      const result = parse(text, { file: `${name}/Dockerfile` })
      assert.equal(`${dumpAll(result.nodes)}\n`, expected)
    })
  }
})

describe('parser conformance: testfiles-negative', () => {
  for (const name of cases('testfiles-negative')) {
    test(name, () => {
      const text = readFileSync(new URL(`testfiles-negative/${name}/Dockerfile`, root), 'utf8')
      assert.throws(
        () => parse(text, { file: 'Dockerfile' }),
        (err: unknown) => err instanceof DockerfileError && /Dockerfile:\d+: /.test(err.message),
      )
    })
  }
})

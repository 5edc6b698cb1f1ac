import assert from 'node:assert/strict'
import { test } from 'node:test'
import { csvFields, parseBool, parseDuration, parseRAMInBytes } from './values.ts'

test('parseDuration (Go time.ParseDuration)', () => {
  assert.equal(parseDuration('0'), 0)
  assert.equal(parseDuration('1h2m3.5s'), 3723.5e9)
  assert.equal(parseDuration('1.5ms'), 1.5e6)
  assert.equal(parseDuration('-2us'), -2000)
  assert.equal(parseDuration('3µs'), 3000)
  for (const bad of ['', '5', 'x', '1d', '.s', '1.2.3s']) assert.throws(() => parseDuration(bad), /time: /, bad)
})

test('parseRAMInBytes (go-units)', () => {
  assert.equal(parseRAMInBytes('512'), 512)
  assert.equal(parseRAMInBytes('1k'), 1024)
  assert.equal(parseRAMInBytes('1.5GiB'), 1.5 * 1024 ** 3)
  assert.equal(parseRAMInBytes('10 MB'), 10 * 1024 ** 2)
  assert.throws(() => parseRAMInBytes('ten'), /invalid size/)
})

test('parseBool and csvFields', () => {
  assert.equal(parseBool('T'), true)
  assert.equal(parseBool('0'), false)
  assert.equal(parseBool('yes'), undefined)
  assert.deepEqual(csvFields('a,b=c,,"d,""e"""'), ['a', 'b=c', '', 'd,"e"'])
  assert.throws(() => csvFields('a"b'), /bare "/)
  assert.throws(() => csvFields('"ab"c'), /extraneous/)
})

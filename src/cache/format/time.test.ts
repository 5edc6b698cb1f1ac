import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import { compareTimes, goTimeFromDate, normalizeTime } from './time.ts'

describe('Go RFC3339Nano times', () => {
  const cases: [string, string, string][] = [
    ['2025-03-02T08:15:31Z', '2025-03-02T08:15:31Z', '2025-03-02T08:15:31Z'],
    ['2025-03-02T08:15:31.123456789Z', '2025-03-02T08:15:31.123456789Z', '2025-03-02T08:15:31.123456789Z'],
    ['2025-03-02T08:15:31.500000000Z', '2025-03-02T08:15:31.5Z', '2025-03-02T08:15:31.5Z'],
    ['2025-03-02T08:15:31.000Z', '2025-03-02T08:15:31Z', '2025-03-02T08:15:31Z'],
    ['2025-03-02T08:15:31+00:00', '2025-03-02T08:15:31Z', '2025-03-02T08:15:31Z'],
    ['2025-03-01T10:00:00.5+01:00', '2025-03-01T10:00:00.5+01:00', '2025-03-01T09:00:00.5Z'],
    ['2025-01-01T00:30:00-05:30', '2025-01-01T00:30:00-05:30', '2025-01-01T06:00:00Z'],
    ['0001-01-01T00:00:00Z', '0001-01-01T00:00:00Z', '0001-01-01T00:00:00Z'],
    ['2024-02-29t23:59:59z', '2024-02-29T23:59:59Z', '2024-02-29T23:59:59Z'],
  ]
  for (const [input, own, utc] of cases) {
    test(`${input} → ${own} / ${utc}`, () => {
      assert.equal(normalizeTime(input, 't'), own)
      assert.equal(normalizeTime(input, 't', { utc: true }), utc)
    })
  }
  test('invalid times are rejected (or mapped to the zero time when lenient)', () => {
    for (const bad of [
      '2025-02-30T00:00:00Z',
      '2025-13-01T00:00:00Z',
      '2025-01-01 00:00:00Z',
      '2025-01-01T24:00:00Z',
      '2025-01-01T00:00:00',
      '2025-01-01T00:00:00.1234567891Z',
    ]) {
      assert.throws(() => normalizeTime(bad, 'field x'), /field x: invalid time/, bad)
    }
    assert.equal(normalizeTime('junk', 'x', { strict: false }), '0001-01-01T00:00:00Z')
  })
  test('compares instants across zones with nanosecond precision', () => {
    assert.equal(compareTimes('2025-03-01T10:00:00+01:00', '2025-03-01T09:00:00Z'), 0)
    assert.ok(compareTimes('2025-03-01T09:00:00.000000002Z', '2025-03-01T09:00:00.000000001Z') > 0)
    assert.ok(compareTimes('0001-01-01T00:00:00Z', '1970-01-01T00:00:00Z') < 0)
  })
  test('goTimeFromDate', () => {
    assert.equal(goTimeFromDate(new Date('2025-03-02T08:15:31.120Z')), '2025-03-02T08:15:31.12Z')
  })
})

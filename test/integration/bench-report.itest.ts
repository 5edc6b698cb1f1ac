import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { medianInterval } from '../../bench/report.ts'

describe('bench report: the interval of a median', () => {
  const values = (n: number) => Array.from({ length: n }, (_, i) => n - i) // n..1, unsorted on purpose

  it('takes the 4th and 12th of 15 values (P(Binomial(15, 1/2) <= 3) = 1.8% per side)', () => {
    assert.deepEqual(medianInterval(values(15)), [4, 12])
  })

  it('takes the 11th and 20th of 30 values', () => {
    assert.deepEqual(medianInterval(values(30)), [11, 20])
  })

  it('spans the extremes at 5 values, and has none below', () => {
    assert.deepEqual(medianInterval(values(5)), [1, 5])
    assert.equal(medianInterval(values(4)), null)
    assert.equal(medianInterval([]), null)
  })
})

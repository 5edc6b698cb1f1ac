import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { createRedactor } from '../secrets/redact.ts'
import type { BuildEvent } from './events.ts'
import { createJsonReporter } from './json-reporter.ts'
import { createPlainReporter } from './plain-reporter.ts'
import { createRedactingReporter } from './redacting-reporter.ts'
import { createTtyReporter } from './tty-reporter.ts'

const SECRET = 'p4ssw0rd-for-the-db'
const events = (): BuildEvent[] => {
  const at = Date.now()
  const log = (s: string): BuildEvent => ({ type: 'vertex.log', id: 'v1', name: `RUN echo ${SECRET}`, stream: 1, data: Buffer.from(s), at })
  return [
    { type: 'vertex.start', id: 'v1', name: `RUN echo ${SECRET}`, at },
    log('value: p4ssw0rd-'),
    log('for-the-db\nmulti '),
    log('p4ss'),
    { type: 'vertex.done', id: 'v1', name: `RUN echo ${SECRET}`, cached: false, durationMs: 5, at, error: `exit 1 ${SECRET}` },
    { type: 'warning', rule: 'R', message: `w ${SECRET}`, at },
    { type: 'info', message: `i ${SECRET}`, at },
  ]
}

describe('redacting reporters', () => {
  it('plain: a secret split across log chunks, names, errors and warnings all show ***', () => {
    const r = createRedactor([SECRET])
    let out = ''
    const rep = createRedactingReporter(
      createPlainReporter((s) => (out += s), r.redact),
      r,
    )
    for (const ev of events()) rep.emit(ev)
    rep.close(false)
    assert.ok(!out.includes('p4ssw0rd-'), out)
    assert.match(out, /value: \*\*\*/)
    assert.match(out, /multi p4ss/, 'a held-back tail that is not a secret is shown at the end of the step')
  })
  it('rawjson: decoded log data and every field are redacted', () => {
    const r = createRedactor([SECRET])
    let out = ''
    const rep = createRedactingReporter(
      createJsonReporter((s) => (out += s), r.redact),
      r,
    )
    for (const ev of events()) rep.emit(ev)
    rep.close(false)
    const lines = out
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { logs?: { data: string }[]; warnings?: { short: string }[] })
    const decoded = lines.flatMap((l) => [
      ...(l.logs ?? []).map((x) => Buffer.from(x.data, 'base64').toString()),
      ...(l.warnings ?? []).map((x) => Buffer.from(x.short, 'base64').toString()),
    ])
    const all = out + decoded.join('')
    assert.ok(!all.includes('p4ssw0rd-'), all)
    assert.ok(decoded.join('').includes('value: ***'))
  })
  it('tty: the live view shows *** only', () => {
    const r = createRedactor([SECRET])
    let out = ''
    const write = (s: string) => {
      out += s
      return true
    }
    const fake = { columns: 120, write } as unknown as NodeJS.WriteStream
    const rep = createRedactingReporter(createTtyReporter(fake, r.redact), r)
    for (const ev of events()) rep.emit(ev)
    rep.close(false)
    assert.ok(!out.includes('p4ssw0rd-'))
    assert.match(out, /\*\*\*/)
  })
})

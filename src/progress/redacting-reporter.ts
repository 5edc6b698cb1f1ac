import type { Redactor } from '../secrets/redact.ts'
import { StreamRedactor } from '../secrets/redact.ts'
import type { BuildEvent, Reporter } from './events.ts'

/**
 * Masks secret values in step output before a reporter sees it. Output arrives in arbitrary
 * chunks, so each step's stdout and stderr go through a StreamRedactor that holds back a tail that
 * could be the start of a secret until the next chunk (or the end of the step) settles it. The
 * reporter itself must still apply the same redactor's `redact` to names, errors and messages.
 */
export function createRedactingReporter(inner: Reporter, redactor: Redactor): Reporter {
  const streams = new Map<string, { ev: Extract<BuildEvent, { type: 'vertex.log' }>; red: StreamRedactor }>()
  const flush = (id?: string) => {
    for (const [key, s] of streams) {
      if (id !== undefined && s.ev.id !== id) continue
      const rest = s.red.flush()
      streams.delete(key)
      if (rest.length) inner.emit({ ...s.ev, data: rest, at: Date.now() })
    }
  }
  return {
    emit(ev) {
      switch (ev.type) {
        case 'vertex.log': {
          const key = `${ev.id}\0${ev.stream}`
          let s = streams.get(key)
          if (!s) {
            s = { ev, red: new StreamRedactor(redactor) }
            streams.set(key, s)
          }
          s.ev = ev
          const out = s.red.push(ev.data)
          if (out.length) inner.emit({ ...ev, data: out })
          return
        }
        case 'vertex.done':
        case 'export.done':
          flush(ev.id)
          break
        default:
          break
      }
      inner.emit(ev)
    },
    close(ok) {
      flush()
      inner.close(ok)
    },
  }
}

import type { BuildEvent, Redact, Reporter } from './events.ts'

/**
 * `--progress=rawjson`: one JSON object per line in the shape of BuildKit's SolveStatus
 * (`vertexes`, `logs`, `warnings`), with log data base64-encoded.
 */
export function createJsonReporter(write: (s: string) => void, redact: Redact = (s) => s): Reporter {
  const started = new Map<string, string>()
  const line = (o: unknown) => write(`${JSON.stringify(o)}\n`)
  const iso = (ms: number) => new Date(ms).toISOString()
  return {
    emit(ev) {
      switch (ev.type) {
        case 'vertex.start':
        case 'export.start':
          started.set(ev.id, iso(ev.at))
          line({ vertexes: [{ digest: ev.id, name: redact(ev.name), started: iso(ev.at) }] })
          break
        case 'vertex.cached':
          line({ vertexes: [{ digest: ev.id, name: redact(ev.name), cached: true, started: iso(ev.at), completed: iso(ev.at), source: redact(ev.source) }] })
          break
        case 'vertex.done':
          if (ev.cached) break
          line({ vertexes: [{ digest: ev.id, name: redact(ev.name), started: started.get(ev.id) ?? iso(ev.at), completed: iso(ev.at), ...(ev.error ? { error: redact(ev.error) } : {}) }] })
          break
        case 'export.done':
          line({ vertexes: [{ digest: ev.id, name: redact(ev.name), started: started.get(ev.id) ?? iso(ev.at), completed: iso(ev.at), ...(ev.error ? { error: redact(ev.error) } : {}) }] })
          break
        case 'vertex.log':
          line({ logs: [{ vertex: ev.id, stream: ev.stream, timestamp: iso(ev.at), data: Buffer.from(redact(ev.data.toString('utf8'))).toString('base64') }] })
          break
        case 'vertex.miss':
          line({ cairn: { miss: { vertex: ev.id, name: redact(ev.name), keys: ev.keys } } })
          break
        case 'vertex.explain':
          line({ cairn: { explain: { vertex: ev.id, name: redact(ev.name), reason: redact(ev.reason) } } })
          break
        case 'vertex.warning':
          line({ warnings: [{ level: 1, vertex: ev.id, short: Buffer.from(redact(ev.message)).toString('base64') }] })
          break
        case 'warning':
          line({ warnings: [{ level: 1, short: Buffer.from(`${ev.rule}: ${redact(ev.message)}`).toString('base64') }] })
          break
        case 'info':
          line({ cairn: { info: redact(ev.message) } })
          break
      }
    },
    close() {},
  }
}

import type { BuildEvent, Redact, Reporter } from './events.ts'

interface Row {
  name: string
  start: number
  end?: number
  cached?: boolean
  error?: boolean
  logs: string[]
}

/**
 * `--progress=tty`: a live BuildKit-like view (`[+] Building 1.2s (4/6)`, one line per step,
 * the last log lines of running steps), redrawn at most 10 times a second.
 */
export function createTtyReporter(out: NodeJS.WriteStream, redact: Redact = (s) => s): Reporter {
  const rows = new Map<string, Row>()
  const warnings: string[] = []
  const t0 = Date.now()
  let drawn = 0
  let timer: NodeJS.Timeout | undefined
  const width = () => Math.max(40, out.columns || 80)
  const fit = (s: string) => (s.length > width() - 1 ? `${s.slice(0, width() - 2)}…` : s)
  const render = (final: boolean) => {
    const lines: string[] = []
    const done = [...rows.values()].filter((r) => r.end !== undefined).length
    lines.push(`[+] Building ${((Date.now() - t0) / 1000).toFixed(1)}s (${done}/${rows.size})${final ? ' FINISHED' : ''}`)
    for (const r of rows.values()) {
      const secs = (((r.end ?? Date.now()) - r.start) / 1000).toFixed(1)
      const status = r.cached ? 'CACHED' : r.error ? 'ERROR' : `${secs}s`
      lines.push(fit(` => ${r.name.padEnd(Math.max(0, width() - 12))}`).slice(0, width() - 9) + ` ${status}`)
      if (r.end === undefined || r.error) for (const l of r.logs.slice(-6)) lines.push(fit(` => => # ${l}`))
    }
    for (const w of warnings) lines.push(fit(` WARNING: ${w}`))
    let s = ''
    if (drawn > 0) s += `\x1b[${drawn}F`
    for (const l of lines) s += `\x1b[2K${l}\n`
    out.write(s)
    drawn = lines.length
  }
  const schedule = () => {
    timer ??= setTimeout(() => {
      timer = undefined
      render(false)
    }, 100)
  }
  return {
    emit(ev) {
      switch (ev.type) {
        case 'vertex.start':
        case 'export.start':
          rows.set(ev.id, { name: redact(ev.name), start: ev.at, logs: [] })
          break
        case 'vertex.cached':
          rows.set(ev.id, { name: redact(ev.name), start: ev.at, end: ev.at, cached: true, logs: [] })
          break
        case 'vertex.done':
        case 'export.done': {
          const r = rows.get(ev.id)
          if (r && r.end === undefined) {
            r.end = ev.at
            if (ev.error) {
              r.error = true
              r.logs.push(redact(ev.error))
            }
          }
          break
        }
        case 'vertex.log': {
          const r = rows.get(ev.id)
          if (r) r.logs.push(...redact(ev.data.toString('utf8')).split('\n').filter(Boolean))
          if (r && r.logs.length > 50) r.logs.splice(0, r.logs.length - 50)
          break
        }
        case 'vertex.warning':
          warnings.push(`${ev.name}: ${redact(ev.message)}`)
          break
        case 'warning':
          warnings.push(`${ev.rule}: ${redact(ev.message)}`)
          break
        default:
          break
      }
      schedule()
    },
    close() {
      if (timer) clearTimeout(timer)
      timer = undefined
      render(true)
    },
  }
}

export type { BuildEvent }

import type { BuildEvent, Redact, Reporter } from './events.ts'

/** BuildKit's `--progress=plain` format: `#N name`, `#N 0.123 log line`, `#N DONE 0.5s` / `#N CACHED`. */
export function createPlainReporter(write: (s: string) => void, redact: Redact = (s) => s): Reporter {
  const nums = new Map<string, number>()
  const starts = new Map<string, number>()
  /** Why each step missed the cache, printed when (and only if) it runs. */
  const reasons = new Map<string, string>()
  const partial = new Map<string, string>()
  const t0 = Date.now()
  const num = (id: string, name: string): number => {
    let n = nums.get(id)
    if (n === undefined) {
      n = nums.size + 1
      nums.set(id, n)
      write(`#${n} ${redact(name)}\n`)
    }
    return n
  }
  const flushLog = (id: string, n: number) => {
    const rest = partial.get(id)
    if (rest) write(`#${n} ${((Date.now() - (starts.get(id) ?? t0)) / 1000).toFixed(3)} ${redact(rest)}\n`)
    partial.delete(id)
  }
  return {
    emit(ev) {
      switch (ev.type) {
        case 'vertex.start': {
          const n = num(ev.id, ev.name)
          starts.set(ev.id, ev.at)
          const why = reasons.get(ev.id)
          if (why) write(`#${n} not cached: ${redact(why)}\n`)
          break
        }
        case 'vertex.explain':
          reasons.set(ev.id, ev.reason)
          break
        case 'vertex.cached':
          write(`#${num(ev.id, ev.name)} CACHED${ev.source !== 'local' ? ` (${redact(ev.source)})` : ''}\n\n`)
          break
        case 'vertex.log': {
          const n = num(ev.id, ev.name)
          const text = (partial.get(ev.id) ?? '') + ev.data.toString('utf8')
          const lines = text.split('\n')
          partial.set(ev.id, lines.pop() ?? '')
          const secs = ((ev.at - (starts.get(ev.id) ?? t0)) / 1000).toFixed(3)
          for (const l of lines) write(`#${n} ${secs} ${redact(l)}\n`)
          break
        }
        case 'vertex.done': {
          if (ev.cached) break
          const n = num(ev.id, ev.name)
          flushLog(ev.id, n)
          write(ev.error ? `#${n} ERROR: ${redact(ev.error)}\n\n` : `#${n} DONE ${(ev.durationMs / 1000).toFixed(1)}s\n\n`)
          break
        }
        case 'export.start':
          num(ev.id, ev.name)
          starts.set(ev.id, ev.at)
          break
        case 'export.done': {
          const n = num(ev.id, ev.name)
          write(ev.error ? `#${n} ERROR: ${redact(ev.error)}\n\n` : `#${n} DONE ${(ev.durationMs / 1000).toFixed(1)}s\n\n`)
          break
        }
        case 'warning':
          write(`WARNING: ${ev.rule}: ${redact(ev.message)}\n`)
          break
        case 'vertex.warning':
          write(`#${num(ev.id, ev.name)} WARNING: ${redact(ev.message)}\n`)
          break
        case 'info':
          write(`${redact(ev.message)}\n`)
          break
        default:
          break
      }
    },
    close() {},
  }
}

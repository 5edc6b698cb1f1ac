import type { SolveEvent } from '../solver/types.ts'

/** Everything a build reports. Core code emits these; only reporters render them. */
export type BuildEvent =
  | SolveEvent
  | { type: 'warning'; rule: string; message: string; at: number }
  | { type: 'info'; message: string; at: number }
  | { type: 'export.start'; id: string; name: string; at: number }
  | { type: 'export.done'; id: string; name: string; durationMs: number; at: number; error?: string }

export interface Reporter {
  emit(ev: BuildEvent): void
  /** Flushes the display; `ok` false after a failure. */
  close(ok: boolean): void
}

/** Redacts every secret value from a string (secrets, credentials). */
export type Redact = (s: string) => string

import { InvalidArgumentError } from '../../core/errors.ts'

/** A parsed `--chmod` value: applies to one entry's current mode. */
export type ModeChange = (mode: number, isDir: boolean) => number

const WHO: Record<string, number> = { u: 0o4700, g: 0o2070, o: 0o1007, a: 0o7777 }

/**
 * Parses a chmod(1) symbolic mode (`u+x`, `go-w,a+rX`, `u=rwx,g=u`), as BuildKit's modeStr does
 * (dchapes/mode, no umask: an omitted who means `a`). Octal strings are accepted too. Throws
 * InvalidArgumentError naming the value.
 */
export function parseModeStr(text: string): ModeChange {
  if (/^[0-7]{1,4}$/.test(text)) {
    const m = Number.parseInt(text, 8)
    return () => m
  }
  const bad = () => new InvalidArgumentError(`invalid chmod parameter: '${text}': expected an octal mode or a symbolic one like u+x,g-w`)
  const clauses = text.split(',')
  const steps: ((mode: number, isDir: boolean) => number)[] = []
  for (const clause of clauses) {
    const m = /^([ugoa]*)((?:[-+=](?:[ugo]|[rwxXst]*))+)$/.exec(clause)
    if (!m) throw bad()
    const whoText = m[1] || 'a'
    let who = 0
    for (const c of whoText) who |= WHO[c] as number
    const ops = (m[2] as string).match(/[-+=](?:[ugo]|[rwxXst]*)/g) ?? []
    for (const op of ops) {
      const kind = op[0] as '-' | '+' | '='
      const perms = op.slice(1)
      steps.push((mode, isDir) => {
        let bits = 0
        if (/^[ugo]$/.test(perms)) {
          // copy another class's bits
          const shift = perms === 'u' ? 6 : perms === 'g' ? 3 : 0
          const rwx = (mode >> shift) & 7
          bits = (rwx << 6) | (rwx << 3) | rwx
        } else {
          for (const p of perms) {
            if (p === 'r') bits |= 0o444
            else if (p === 'w') bits |= 0o222
            else if (p === 'x') bits |= 0o111
            else if (p === 'X') {
              if (isDir || (mode & 0o111) !== 0) bits |= 0o111
            } else if (p === 's') bits |= 0o6000
            else if (p === 't') bits |= 0o1000
          }
        }
        bits &= who
        if (kind === '+') return mode | bits
        if (kind === '-') return mode & ~bits
        // '=': clear the who bits (but not the special bits of classes not named), then set
        return (mode & ~(who & 0o777)) | bits
      })
    }
  }
  return (mode, isDir) => steps.reduce((m, f) => f(m, isDir), mode & 0o7777)
}

/** Character classes matching Go's `unicode.IsSpace`, `unicode.IsLetter` and `unicode.IsDigit`. */
const LETTER = /^\p{L}$/u
const DIGIT = /^\p{Nd}$/u
const WHITE_SPACE = /^\p{White_Space}$/u

export function isSpace(ch: string): boolean {
  switch (ch) {
    case '\t':
    case '\n':
    case '\v':
    case '\f':
    case '\r':
    case ' ':
    case '\u0085':
    case '\u00a0':
      return true
  }
  const cp = ch.codePointAt(0) ?? 0
  return cp > 0xff && WHITE_SPACE.test(ch)
}

export const isLetter = (ch: string): boolean => LETTER.test(ch)
export const isDigit = (ch: string): boolean => DIGIT.test(ch)

/** Trims Go-`unicode.IsSpace` characters from the left. */
export function trimLeftSpace(s: string): string {
  let i = 0
  for (const ch of s) {
    if (!isSpace(ch)) break
    i += ch.length
  }
  return s.slice(i)
}

/** Trims Go-`unicode.IsSpace` characters from both ends (Go's `strings.TrimSpace`). */
export function trimSpace(s: string): string {
  const cps = Array.from(trimLeftSpace(s))
  let end = cps.length
  while (end > 0 && isSpace(cps[end - 1] as string)) end--
  return cps.slice(0, end).join('')
}

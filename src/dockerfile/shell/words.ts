import { isSpace } from './chars.ts'

/** Accumulates the words of `processWords`: unquoted whitespace splits, quoted/escaped text never does. */
export class WordsBuilder {
  private buf = ''
  private words: string[] = []
  private inWord = false

  addChar(ch: string): void {
    if (isSpace(ch)) {
      if (this.inWord && this.buf.length > 0) {
        this.words.push(this.buf)
        this.buf = ''
        this.inWord = false
      }
      return
    }
    this.addRawChar(ch)
  }

  addRawChar(ch: string): void {
    this.buf += ch
    this.inWord = true
  }

  addString(s: string): void {
    for (const ch of s) this.addChar(ch)
  }

  addRawString(s: string): void {
    this.buf += s
    this.inWord = true
  }

  finish(): string[] {
    if (this.buf.length > 0) {
      this.words.push(this.buf)
      this.buf = ''
      this.inWord = false
    }
    return this.words
  }
}

/**
 * Shell-style word processing for Dockerfiles, with BuildKit's semantics (frontend/dockerfile/shell):
 * quotes, escapes and `$var` / `${var...}` expansion. No command substitution, no globbing.
 */
import type { EnvGetter } from './env.ts'
import { ShellError } from './errors.ts'
import { WordRun } from './word-run.ts'

/** Lexer switches (BuildKit's `Lex` fields). */
export interface ShellLexOptions {
  /** Keep quote characters in the output (used to detect quoted heredoc delimiters). */
  rawQuotes?: boolean
  /** Keep escape characters in the output. */
  rawEscapes?: boolean
  /** Treat `'` and `"` as ordinary characters (heredoc bodies). */
  skipProcessQuotes?: boolean
  /** Leave references to unset variables as they are (`$x`, `${x:-y}`) instead of expanding them. */
  skipUnsetEnv?: boolean
}

export interface ProcessWordResult {
  word: string
  /** Variables referenced but not set. */
  unmatched: Set<string>
  /** Variables referenced and set. */
  matched: Set<string>
}

export interface ProcessWordsResult {
  words: string[]
  unmatched: Set<string>
  matched: Set<string>
}

/**
 * The Dockerfile shell lexer. `escapeToken` is `\` or `` ` `` (the `# escape=` directive).
 * All per-word state lives in the call, so one instance may be shared.
 */
export class ShellLex {
  rawQuotes = false
  rawEscapes = false
  skipProcessQuotes = false
  skipUnsetEnv = false

  constructor(
    readonly escapeToken: string = '\\',
    opts: ShellLexOptions = {},
  ) {
    Object.assign(this, opts)
  }

  private run(text: string, env: EnvGetter, opts: ShellLexOptions | undefined) {
    const merged: Required<ShellLexOptions> = {
      rawQuotes: opts?.rawQuotes ?? this.rawQuotes,
      rawEscapes: opts?.rawEscapes ?? this.rawEscapes,
      skipProcessQuotes: opts?.skipProcessQuotes ?? this.skipProcessQuotes,
      skipUnsetEnv: opts?.skipUnsetEnv ?? this.skipUnsetEnv,
    }
    const run = new WordRun(text, env, this.escapeToken, merged)
    try {
      return { ...run.run(), matched: run.matched, unmatched: run.unmatched }
    } catch (err) {
      if (err instanceof ShellError) {
        throw new ShellError(`failed to process ${JSON.stringify(text)}: ${err.message}`, { cause: err })
      }
      throw err
    }
  }

  /** Expands `word` as one word (spaces kept). Throws ShellError on bad syntax. */
  processWord(word: string, env: EnvGetter, opts?: ShellLexOptions): ProcessWordResult {
    const r = this.run(word, env, opts)
    return { word: r.word, matched: r.matched, unmatched: r.unmatched }
  }

  /** Expands `word` and splits it into words on unquoted whitespace (after expansion). */
  processWords(word: string, env: EnvGetter, opts?: ShellLexOptions): ProcessWordsResult {
    const r = this.run(word, env, opts)
    return { words: r.words, matched: r.matched, unmatched: r.unmatched }
  }
}

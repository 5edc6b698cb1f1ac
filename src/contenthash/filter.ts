/**
 * Which entries of a local build context exist on the receiving side: fsutil's filterFS walk
 * (tonistiigi/fsutil filter.go) with the context's include patterns and `.dockerignore`
 * excludes. An excluded directory is still walked when a `!` exception could match inside it,
 * and then exists only if something below it is included.
 */
import { type MatchInfo, type Pattern, PatternMatcher } from '../core/patternmatcher.ts'

/** Per-directory matcher state handed to its children. */
export interface FilterState {
  readonly includeInfo: MatchInfo
  readonly excludeInfo: MatchInfo
}

export interface FilterDecision {
  /** The entry itself is sent. */
  include: boolean
  /** For directories: the walk goes inside (an excluded directory then exists iff something inside is included). */
  descend: boolean
  state: FilterState
}

export interface ContextFilter {
  /** `relPath` is slash-separated, relative to the context root, without leading `/`. */
  visit(relPath: string, isDir: boolean, parent: FilterState | undefined): FilterDecision
}

const NO_STATE: FilterState = { includeInfo: [], excludeInfo: [] }

/** A plain predicate: an excluded directory is skipped with everything below it. */
export function predicateFilter(exclude: (relPath: string, isDir: boolean) => boolean): ContextFilter {
  return {
    visit(relPath, isDir) {
      const include = !exclude(relPath, isDir)
      return { include, descend: include && isDir, state: NO_STATE }
    },
  }
}

function withoutTrailingGlob(p: Pattern): string {
  let s = p.cleaned
  if (s.endsWith('/**')) s = s.slice(0, -3)
  if (s.endsWith('/*')) s = s.slice(0, -2)
  return s
}

const PATTERN_CHARS = /[*[\]?^\\]/

/** fsutil's include/exclude walk semantics (local.includepatterns / local.excludepatterns). */
export function createPatternFilter(opts: { includePatterns?: readonly string[]; excludePatterns?: readonly string[] }): ContextFilter {
  const inc = opts.includePatterns?.length ? new PatternMatcher(opts.includePatterns) : undefined
  const exc = opts.excludePatterns?.length ? new PatternMatcher(opts.excludePatterns) : undefined
  const onlyPrefixIncludes = inc?.patterns.every((p) => p.exclusion || !PATTERN_CHARS.test(withoutTrailingGlob(p))) ?? true
  const onlyPrefixExceptions = exc?.patterns.every((p) => !p.exclusion || !PATTERN_CHARS.test(withoutTrailingGlob(p))) ?? true
  const prefixOfAny = (m: PatternMatcher, exclusion: boolean, dir: string) =>
    m.patterns.some((p) => p.exclusion === exclusion && `${withoutTrailingGlob(p)}/`.startsWith(`${dir}/`))
  return {
    visit(relPath, isDir, parent) {
      let skip = false
      let includeInfo: MatchInfo = []
      let excludeInfo: MatchInfo = []
      if (inc !== undefined) {
        const r = inc.matchesUsingParentResults(relPath, parent?.includeInfo ?? [])
        includeInfo = r.info
        if (!r.matched) {
          if (isDir && onlyPrefixIncludes && !prefixOfAny(inc, false, relPath)) {
            return { include: false, descend: false, state: NO_STATE }
          }
          skip = true
        }
      }
      if (exc !== undefined) {
        const r = exc.matchesUsingParentResults(relPath, parent?.excludeInfo ?? [])
        excludeInfo = r.info
        if (r.matched) {
          if (isDir && onlyPrefixExceptions && (!exc.exclusions || !prefixOfAny(exc, true, relPath))) {
            return { include: false, descend: false, state: NO_STATE }
          }
          skip = true
        }
      }
      return { include: !skip, descend: isDir, state: { includeInfo, excludeInfo } }
    },
  }
}

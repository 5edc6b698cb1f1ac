/**
 * BuildKit's build checks that the converter runs (they need ARG values or the base image), and
 * the `# check=` directive: `skip=Rule1,Rule2` (or `skip=all`) drops warnings, `error=true` turns
 * remaining ones into a build failure.
 */
import { DockerfileError, type SourceRange } from '../../core/errors.ts'
import { parseImageRef } from '../../oci/reference.ts'
import type { Stage } from '../instructions/index.ts'
import { suggest } from '../instructions/suggest.ts'
import type { ShellLex } from '../shell/index.ts'
import { envGetter } from '../shell/index.ts'
import type { ConvertWarning } from './state.ts'

export interface CheckConfig {
  skip: Set<string>
  skipAll: boolean
  error: boolean
}

/** Parses `skip=A,B;error=true` (the `# check=` directive or the BUILDKIT_DOCKERFILE_CHECK build arg). */
export function parseCheckDirective(value: string | undefined, range: SourceRange): CheckConfig {
  const cfg: CheckConfig = { skip: new Set(), skipAll: false, error: false }
  if (!value) return cfg
  for (const part of value.split(';')) {
    const t = part.trim()
    if (t === '') continue
    const eq = t.indexOf('=')
    const key = (eq < 0 ? t : t.slice(0, eq)).trim().toLowerCase()
    const v = eq < 0 ? '' : t.slice(eq + 1).trim()
    if (key === 'skip') {
      for (const r of v
        .split(',')
        .map((s) => s.trim())
        .filter(Boolean)) {
        if (r.toLowerCase() === 'all') cfg.skipAll = true
        else cfg.skip.add(r)
      }
    } else if (key === 'error') {
      if (!/^(true|false|1|0)$/i.test(v))
        throw new DockerfileError(`invalid check directive: error=${v}: expected true or false`, range, { hint: 'write # check=error=true' })
      cfg.error = /^(true|1)$/i.test(v)
    } else if (key !== 'experimental') {
      throw new DockerfileError(`invalid check directive: unknown key ${JSON.stringify(key)}`, range, { hint: 'use # check=skip=<rules>;error=true' })
    }
  }
  return cfg
}

/** Rules that are not build checks (informational warnings): never skipped nor turned into errors. */
const NOT_CHECKS = new Set(['UnusedBuildArg'])

/** Applies skip rules and dedupes; returns the warnings to print and, with error=true, the failure. */
export function applyChecks(warnings: readonly ConvertWarning[], cfg: CheckConfig, file: string): { warnings: ConvertWarning[]; error?: DockerfileError } {
  const seen = new Set<string>()
  const out: ConvertWarning[] = []
  for (const w of warnings) {
    const isCheck = !NOT_CHECKS.has(w.rule)
    if (isCheck && (cfg.skipAll || cfg.skip.has(w.rule))) continue
    const k = `${w.rule}\0${w.message}\0${w.range?.startLine ?? ''}`
    if (seen.has(k)) continue
    seen.add(k)
    out.push(w)
  }
  const rules = [...new Set(out.filter((w) => !NOT_CHECKS.has(w.rule)).map((w) => w.rule))]
  if (!cfg.error || rules.length === 0) return { warnings: out }
  const first = out.find((w) => !NOT_CHECKS.has(w.rule) && w.range)?.range ?? { startLine: 1, endLine: 1 }
  const error = new DockerfileError(
    `lint violation found for rules: ${rules.join(', ')}`,
    { ...first, file },
    {
      code: 'ERR_DOCKERFILE_CHECK',
      hint: 'fix the warnings above, or skip rules with # check=skip=<rule>,<rule>',
    },
  )
  return { warnings: out, error }
}

/** The UndefinedVar message (with BuildKit's "did you mean"). */
export function undefinedVarMessage(name: string, options: Iterable<string>): string {
  const s = suggest(name, options)
  return `Usage of undefined variable '$${name}'${s ? ` (did you mean $${s}?)` : ''}`
}

/**
 * UndefinedArgInFrom and InvalidDefaultArgInFrom over every stage: variables in FROM that no
 * global ARG declares, and base names that the ARG defaults (no --build-arg) leave empty or invalid.
 */
export function fromChecks(
  stages: readonly Stage[],
  lex: ShellLex,
  declared: ReadonlySet<string>,
  values: ReadonlyMap<string, string>,
  defaults: ReadonlyMap<string, string>,
): ConvertWarning[] {
  const out: ConvertWarning[] = []
  for (const st of stages) {
    for (const word of [st.baseName, ...(st.platform ? [st.platform] : [])]) {
      let unmatched: Set<string>
      try {
        unmatched = lex.processWord(word, envGetter(values)).unmatched
      } catch {
        continue
      }
      for (const name of unmatched) {
        if (declared.has(name)) continue
        const s = suggest(name, declared)
        out.push({ rule: 'UndefinedArgInFrom', message: `FROM argument '${name}' is not declared${s ? ` (did you mean ${s}?)` : ''}`, range: st.range })
      }
    }
    if (!st.baseName.includes('$')) continue
    let name = ''
    try {
      name = lex.processWord(st.baseName, envGetter(defaults)).word
    } catch {
      continue
    }
    let valid = name !== ''
    if (valid) {
      try {
        parseImageRef(name)
      } catch {
        valid = false
      }
    }
    if (!valid)
      out.push({
        rule: 'InvalidDefaultArgInFrom',
        message: `Default value for ARG ${st.baseName} results in empty or invalid base image name`,
        range: st.range,
      })
  }
  return out
}

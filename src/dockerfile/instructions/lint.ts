/**
 * The BuildKit build checks that need nothing but the instructions themselves. Messages are BuildKit's.
 * Checks that need the base image or the build arguments (UndefinedVar, InvalidDefaultArgInFrom, ...) belong to
 * the converter. JSONArgsRecommended is reported when no SHELL instruction precedes the CMD/ENTRYPOINT in its
 * stage; BuildKit also stays quiet when the base image's config sets a shell, which only the converter knows.
 */
import type { SourceRange } from '../../core/errors.ts'
import type { ArgInstruction, Instruction, Stage, Warning } from './types.ts'

const SECRET = /(?:_|^)(?:apikey|auth|credential|credentials|key|password|pword|passwd|secret|token)(?:_|$)/i
const SECRET_ALLOW = /(?:_|^)(?:public|file|version)(?:_|$)/i
const RESERVED_STAGE_NAMES = new Set(['context', 'scratch'])

const w = (rule: string, message: string, range: SourceRange): Warning => ({ rule, message, range })

export function secretKeyWarning(instruction: 'ARG' | 'ENV', key: string, range: SourceRange): Warning | undefined {
  if (!SECRET.test(key) || SECRET_ALLOW.test(key)) return undefined
  return w(
    'SecretsUsedInArgOrEnv',
    `Do not use ARG or ENV instructions for sensitive data (${instruction} ${JSON.stringify(key)})`,
    range,
  )
}

export function argWarnings(arg: ArgInstruction): Warning[] {
  return arg.args.flatMap((a) => secretKeyWarning('ARG', a.key, arg.range) ?? [])
}

/** FROM line checks: StageNameCasing and FromAsCasing (args as the parser gave them). */
export function fromWarnings(keyword: string, args: readonly string[], range: SourceRange): Warning[] {
  const out: Warning[] = []
  if (args.length !== 3) return out
  const [, as, name] = args as [string, string, string]
  if (name !== name.toLowerCase()) out.push(w('StageNameCasing', `Stage name '${name}' should be lowercase`, range))
  const lower = keyword === keyword.toLowerCase()
  const upper = keyword === keyword.toUpperCase()
  if ((lower && as !== as.toLowerCase()) || (!lower && upper && as !== as.toUpperCase())) {
    out.push(w('FromAsCasing', `'${as}' and '${keyword}' keywords' casing do not match`, range))
  }
  return out
}

/** Per-stage checks: JSONArgsRecommended, MultipleInstructionsDisallowed, secrets, legacy key/value. */
export function stageWarnings(stage: Stage, legacyKv: ReadonlySet<Instruction>): Warning[] {
  const out: Warning[] = []
  let shellSet = false
  const lastUse = new Map<string, Instruction>()
  for (const cmd of stage.commands) {
    switch (cmd.kind) {
      case 'shell':
        shellSet = true
        break
      case 'cmd':
      case 'entrypoint':
      case 'healthcheck': {
        const prev = lastUse.get(cmd.kind)
        if (prev) {
          out.push(
            w(
              'MultipleInstructionsDisallowed',
              `Multiple ${cmd.keyword} instructions should not be used in the same stage because only the last one will be used`,
              prev.range,
            ),
          )
        }
        lastUse.set(cmd.kind, cmd)
        if (cmd.kind !== 'healthcheck' && cmd.prependShell && !shellSet) {
          out.push(
            w(
              'JSONArgsRecommended',
              `JSON arguments recommended for ${cmd.keyword} to prevent unintended behavior related to OS signals`,
              cmd.range,
            ),
          )
        }
        break
      }
      case 'env':
        if (legacyKv.has(cmd)) out.push(legacyWarning(cmd.keyword, cmd.range))
        for (const e of cmd.env) {
          const s = secretKeyWarning('ENV', e.key, cmd.range)
          if (s) out.push(s)
        }
        break
      case 'label':
        if (legacyKv.has(cmd)) out.push(legacyWarning(cmd.keyword, cmd.range))
        break
      case 'arg':
        out.push(...argWarnings(cmd))
        break
      case 'maintainer':
        out.push(w('MaintainerDeprecated', 'Maintainer instruction is deprecated in favor of using label', cmd.range))
        break
    }
  }
  return out
}

const legacyWarning = (name: string, range: SourceRange): Warning =>
  w('LegacyKeyValueFormat', `"${name} key=value" should be used instead of legacy "${name} key value" format`, range)

/** ReservedStageName, and ConsistentInstructionCasing over the whole file. */
export function fileWarnings(stages: readonly Stage[]): Warning[] {
  const out: Warning[] = []
  for (const stage of stages) {
    if (stage.name !== undefined && RESERVED_STAGE_NAMES.has(stage.name)) {
      out.push(
        w('ReservedStageName', `Stage name should not use the same name as reserved stage ${JSON.stringify(stage.name)}`, stage.range),
      )
    }
  }
  const all = stages.flatMap((s) => [s.from as Instruction, ...s.commands])
  let lower = 0
  let upper = 0
  for (const c of all) {
    if (c.keyword === c.keyword.toLowerCase()) lower++
    else if (c.keyword === c.keyword.toUpperCase()) upper++
  }
  const majorityLower = lower > upper
  for (const c of all) {
    let casing = ''
    if (majorityLower && c.keyword.toLowerCase() !== c.keyword) casing = 'lowercase'
    else if (!majorityLower && c.keyword.toUpperCase() !== c.keyword) casing = 'uppercase'
    if (casing !== '') {
      out.push(
        w('ConsistentInstructionCasing', `Command '${c.keyword}' should match the case of the command majority (${casing})`, c.range),
      )
    }
  }
  return out
}

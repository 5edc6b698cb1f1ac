/** AST → stages of typed instructions (BuildKit's instructions.Parse), with the checks computable here. */
import { CairnError, DockerfileError, type SourceRange } from '../../core/errors.ts'
import type { Node, ParseResult } from '../parser/types.ts'
import { argWarnings, fileWarnings, fromWarnings, stageWarnings } from './lint.ts'
import { parseAdd, parseCopy } from './parse-copy.ts'
import { parseCmd, parseEntrypoint, parseHealthcheck, parseShell } from './parse-cmd.ts'
import { parseFrom } from './parse-from.ts'
import { parseArg, parseEnv, parseLabel } from './parse-kv.ts'
import { parseRun } from './parse-run.ts'
import {
  parseExpose,
  parseMaintainer,
  parseOnbuild,
  parseStopsignal,
  parseUser,
  parseVolume,
  parseWorkdir,
} from './parse-simple.ts'
import { newRequest, type Request } from './request.ts'
import { suggest } from './suggest.ts'
import type { ArgInstruction, Instruction, ParsedDockerfile, Stage, Warning } from './types.ts'

export interface ParseInstructionsOptions {
  /** File name for error messages and ranges (defaults to the one the nodes were parsed with, or 'Dockerfile'). */
  file?: string
}

const PARSERS: Record<string, (req: Request, legacy: Set<Instruction>) => Instruction> = {
  add: parseAdd,
  arg: parseArg,
  cmd: parseCmd,
  copy: parseCopy,
  entrypoint: parseEntrypoint,
  env: (req, legacy) => {
    const r = parseEnv(req)
    if (r.legacy) legacy.add(r.cmd)
    return r.cmd
  },
  expose: parseExpose,
  from: parseFrom,
  healthcheck: parseHealthcheck,
  label: (req, legacy) => {
    const r = parseLabel(req)
    if (r.legacy) legacy.add(r.cmd)
    return r.cmd
  },
  maintainer: parseMaintainer,
  onbuild: parseOnbuild,
  run: parseRun,
  shell: parseShell,
  stopsignal: parseStopsignal,
  user: parseUser,
  volume: parseVolume,
  workdir: parseWorkdir,
}

export const INSTRUCTION_NAMES: readonly string[] = Object.keys(PARSERS).map((k) => k.toUpperCase())

function toDockerfileError(err: unknown, range: SourceRange): DockerfileError {
  if (err instanceof DockerfileError) return err
  const message = err instanceof Error ? err.message : String(err)
  const hint = err instanceof CairnError ? err.hint : undefined
  return new DockerfileError(message, range, { cause: err, ...(hint === undefined ? {} : { hint }) })
}

/** Parses one node. Throws DockerfileError (unknown instruction, bad flag, bad arguments). */
export function parseInstruction(
  node: Node,
  opts: { file?: string; escapeToken?: string } = {},
  legacy: Set<Instruction> = new Set(),
): Instruction {
  const req = newRequest(node, opts.file, opts.escapeToken ?? '\\')
  const parser = PARSERS[node.value.toLowerCase()]
  if (parser === undefined) {
    const guess = suggest(node.value.toUpperCase(), INSTRUCTION_NAMES)
    throw new DockerfileError(`unknown instruction: ${node.value}`, req.range, {
      hint: guess === undefined ? `instructions are ${INSTRUCTION_NAMES.join(', ')}` : `did you mean ${guess}?`,
    })
  }
  try {
    return parser(req, legacy)
  } catch (err) {
    throw toDockerfileError(err, req.range)
  }
}

/** Turns a parsed Dockerfile into global ARGs and stages. Throws DockerfileError with file:line. */
export function parseInstructions(result: ParseResult, opts: ParseInstructionsOptions = {}): ParsedDockerfile {
  const file = opts.file
  const fileOpt = file === undefined ? {} : { file }
  const metaArgs: ArgInstruction[] = []
  const stages: Stage[] = []
  const warnings: Warning[] = result.warnings.map((pw) => ({
    rule: pw.rule,
    message: 'Empty continuation line',
    range: file === undefined ? pw.range : { ...pw.range, file },
  }))
  const legacy = new Set<Instruction>()
  const names = new Map<string, Stage>()

  for (const node of result.nodes) {
    const cmd = parseInstruction(node, { ...fileOpt, escapeToken: result.escapeToken }, legacy)
    if (cmd.kind === 'from') {
      warnings.push(...fromWarnings(node.value, node.args, cmd.range))
      const stage: Stage = {
        ...(cmd.name === undefined ? {} : { name: cmd.name }),
        baseName: cmd.baseName,
        ...(cmd.platform === undefined ? {} : { platform: cmd.platform }),
        commands: [],
        range: cmd.range,
        index: stages.length,
        fromFlags: cmd.fromFlags,
        from: cmd,
      }
      if (stage.name !== undefined) {
        const prev = names.get(stage.name)
        if (prev) {
          throw new DockerfileError(`duplicate stage name ${JSON.stringify(stage.name)}, stage names should be unique`, stage.range, {
            code: 'ERR_DOCKERFILE_DUPLICATE_STAGE',
            hint: `the name is already used by the stage at line ${prev.range.startLine}; rename one of them`,
          })
        }
        names.set(stage.name, stage)
      }
      stages.push(stage)
      continue
    }
    const current = stages.at(-1)
    if (current === undefined) {
      if (cmd.kind === 'arg') {
        metaArgs.push(cmd)
        warnings.push(...argWarnings(cmd))
        continue
      }
      throw new DockerfileError('no build stage in current context', cmd.range, {
        hint: `only ARG may come before the first FROM; add FROM <image> above this ${cmd.keyword}`,
      })
    }
    current.commands.push(cmd)
  }

  for (const stage of stages) warnings.push(...stageWarnings(stage, legacy))
  warnings.push(...fileWarnings(stages))
  warnings.sort((a, b) => a.range.startLine - b.range.startLine)
  return { metaArgs, stages, warnings }
}

/** Test helper: Dockerfile text → instructions. */
import { parse } from '../parser/parser.ts'
import { parseInstructions } from './parse.ts'
import type { Instruction, ParsedDockerfile } from './types.ts'

export const build = (text: string): ParsedDockerfile => parseInstructions(parse(text, { file: 'Dockerfile' }), { file: 'Dockerfile' })

/** The single instruction after `FROM scratch`. */
export function one(line: string): Instruction {
  const cmd = build(`FROM scratch\n${line}\n`).stages[0]?.commands[0]
  if (cmd === undefined) throw new TypeError('no instruction')
  return cmd
}

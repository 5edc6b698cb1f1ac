/** FROM: base name, `AS name`, `--platform`. */
import { base, invalid, opt, type Request } from './request.ts'
import type { FromInstruction } from './types.ts'

const VALID_STAGE_NAME = /^[a-z][a-z0-9-_.]*$/

export function parseFrom(req: Request): FromInstruction {
  const args = req.args
  let name: string | undefined
  if (args.length === 3 && (args[1] as string).toLowerCase() === 'as') {
    name = (args[2] as string).toLowerCase()
    if (!VALID_STAGE_NAME.test(name)) {
      throw invalid(
        `invalid name for build stage: ${JSON.stringify(args[2])}, name can't start with a number or contain symbols`,
        'stage names start with a letter and hold only letters, digits, "-", "_" and "."',
      )
    }
  } else if (args.length !== 1) {
    throw invalid('FROM requires either one or three arguments', 'write FROM <image> [AS <name>]')
  }
  const platform = req.flags.string('platform')
  req.flags.parse()
  const p = platform()
  return {
    ...base(req, 'from', ['baseName', 'platform']),
    baseName: args[0] as string,
    ...opt('name', name),
    ...opt('platform', p === '' ? undefined : p),
    fromFlags: [...req.node.flags],
  }
}

/** ENV, LABEL and ARG. */
import { base, errAtLeastOneArgument, invalid, type Request } from './request.ts'
import type { ArgInstruction, EnvInstruction, KeyValue, LabelInstruction } from './types.ts'

/** Parser triples (key, value, separator) → pairs; `legacy` is true when any pair used `KEY value`. */
function parseKvps(args: string[], cmd: string): { pairs: KeyValue[]; legacy: boolean } {
  if (args.length === 0) throw errAtLeastOneArgument(cmd)
  if (args.length % 3 !== 0) throw invalid(`Bad input to ${cmd}, too many arguments`)
  const pairs: KeyValue[] = []
  let legacy = false
  for (let i = 0; i < args.length; i += 3) {
    const key = args[i] as string
    if (key.length === 0) throw invalid(`${cmd} names can not be blank`)
    pairs.push({ key, value: args[i + 1] as string })
    if (args[i + 2] === '') legacy = true
  }
  return { pairs, legacy }
}

export function parseEnv(req: Request): { cmd: EnvInstruction; legacy: boolean } {
  req.flags.parse()
  const { pairs, legacy } = parseKvps(req.args, 'ENV')
  return { cmd: { ...base(req, 'env', ['env']), env: pairs }, legacy }
}

export function parseLabel(req: Request): { cmd: LabelInstruction; legacy: boolean } {
  req.flags.parse()
  const { pairs, legacy } = parseKvps(req.args, 'LABEL')
  return { cmd: { ...base(req, 'label', ['labels']), labels: pairs }, legacy }
}

export function parseArg(req: Request): ArgInstruction {
  if (req.args.length === 0) throw errAtLeastOneArgument('ARG')
  req.flags.parse()
  const args = req.args.map((arg) => {
    const eq = arg.indexOf('=')
    if (eq < 0) return { key: arg }
    if (eq === 0) throw invalid('ARG names can not be blank')
    return { key: arg.slice(0, eq), value: arg.slice(eq + 1) }
  })
  return { ...base(req, 'arg', ['args']), args }
}

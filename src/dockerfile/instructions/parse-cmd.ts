/** CMD, ENTRYPOINT, SHELL and HEALTHCHECK. */
import { base, errAtLeastOneArgument, handleJSONArgs, invalid, opt, type Request } from './request.ts'
import type { CmdInstruction, EntrypointInstruction, HealthcheckInstruction, ShellInstruction } from './types.ts'
import { parseDuration } from './values.ts'

export function parseCmd(req: Request): CmdInstruction {
  req.flags.parse()
  return { ...base(req, 'cmd'), cmd: handleJSONArgs(req.args, req.json), prependShell: !req.json }
}

export function parseEntrypoint(req: Request): EntrypointInstruction {
  req.flags.parse()
  return { ...base(req, 'entrypoint'), cmd: handleJSONArgs(req.args, req.json), prependShell: !req.json }
}

export function parseShell(req: Request): ShellInstruction {
  req.flags.parse()
  const shell = handleJSONArgs(req.args, req.json)
  if (shell.length === 0) throw errAtLeastOneArgument('SHELL')
  if (!req.json) {
    throw invalid(`SHELL requires the arguments to be in JSON form`, `write SHELL ["executable", "parameters"]`)
  }
  return { ...base(req, 'shell'), shell }
}

const MIN_INTERVAL_NS = 1e6

function interval(name: string, value: string | undefined): number | undefined {
  if (value === undefined || value === '') return undefined
  const ns = parseDuration(value)
  if (ns === 0) return undefined
  if (ns < MIN_INTERVAL_NS) throw invalid(`Interval ${JSON.stringify(name)} cannot be less than 1ms`)
  return ns
}

export function parseHealthcheck(req: Request): HealthcheckInstruction {
  if (req.args.length === 0) throw errAtLeastOneArgument('HEALTHCHECK')
  const f = req.flags
  const flInterval = f.string('interval')
  const flTimeout = f.string('timeout')
  const flStartPeriod = f.string('start-period')
  const flStartInterval = f.string('start-interval')
  const flRetries = f.string('retries')
  f.parse()
  let typ = (req.args[0] as string).toUpperCase()
  const args = req.args.slice(1)
  if (typ === 'NONE') {
    if (args.length !== 0) throw invalid('HEALTHCHECK NONE takes no arguments')
    return { ...base(req, 'healthcheck'), test: ['NONE'] }
  }
  if (typ !== 'CMD') {
    throw invalid(`Unknown type ${JSON.stringify(typ)} in HEALTHCHECK (try CMD)`, 'write HEALTHCHECK CMD <command> or HEALTHCHECK NONE')
  }
  const cmd = handleJSONArgs(args, req.json)
  if (cmd.length === 0) throw invalid('Missing command after HEALTHCHECK CMD')
  if (!req.json) typ = 'CMD-SHELL'
  let retries: number | undefined
  const r = flRetries()
  if (r !== undefined && r !== '') {
    if (!/^[+-]?\d+$/.test(r) || Math.abs(Number(r)) > 2 ** 31 - 1) {
      throw invalid(`invalid value for --retries: ${JSON.stringify(r)} is not a whole number`)
    }
    retries = Number(r)
    if (retries < 0) throw invalid(`--retries cannot be negative (${retries})`)
  }
  return {
    ...base(req, 'healthcheck'),
    test: [typ, ...cmd],
    ...opt('interval', interval('interval', flInterval())),
    ...opt('timeout', interval('timeout', flTimeout())),
    ...opt('startPeriod', interval('start-period', flStartPeriod())),
    ...opt('startInterval', interval('start-interval', flStartInterval())),
    ...opt('retries', retries),
  }
}

/** RUN: command line, heredocs and the --mount, --network, --security and --device flags. */
import { InvalidArgumentError } from '../../core/errors.ts'
import { chompHeredocContent } from '../parser/heredoc.ts'
import { base, handleJSONArgs, invalid, opt, type Request } from './request.ts'
import { parseRunMount } from './run-mount.ts'
import { didYouMean } from './suggest.ts'
import type { RunDevice, RunInstruction } from './types.ts'
import { csvFields, parseBool } from './values.ts'

const NETWORKS = ['default', 'none', 'host'] as const
const SECURITY = ['sandbox', 'insecure'] as const

/** `--device=<name>[,required]` (BuildKit's ParseDevice). */
export function parseDevice(spec: string): RunDevice {
  let fields: string[]
  try {
    fields = csvFields(spec)
  } catch (err) {
    throw invalid(`failed to parse csv devices: ${(err as Error).message}`)
  }
  const d: RunDevice = { name: '', required: false }
  for (const field of fields) {
    const eq = field.indexOf('=')
    const key = (eq < 0 ? field : field.slice(0, eq)).toLowerCase()
    const value = field.slice(eq + 1)
    if (eq < 0) {
      if (key === 'required') d.required = true
      else if (d.name === '') d.name = field
      else throw invalid(`invalid field '${field}' must be a key=value pair`)
      continue
    }
    if (key === 'name') {
      if (d.name !== '') throw invalid(`device name already set to ${d.name}`)
      d.name = value
    } else if (key === 'required') {
      const b = parseBool(value)
      if (b === undefined) throw invalid(`invalid value for ${key}: ${value}`)
      d.required = b
    } else if (d.name === '') {
      d.name = field
    } else {
      throw new InvalidArgumentError(`unexpected key '${key}' in '${field}'`, didYouMean(key, ['name', 'required']))
    }
  }
  return d
}

export function parseRun(req: Request): RunInstruction {
  const f = req.flags
  const mountFlag = f.strings('mount')
  const networkFlag = f.string('network')
  const securityFlag = f.string('security')
  const deviceFlag = f.strings('device')
  f.parse()

  const network = networkFlag()
  if (network !== undefined && !(NETWORKS as readonly string[]).includes(network)) {
    throw new InvalidArgumentError(`invalid network mode ${JSON.stringify(network)}`, didYouMean(network, NETWORKS))
  }
  const security = securityFlag()
  if (security !== undefined && !(SECURITY as readonly string[]).includes(security)) {
    throw new InvalidArgumentError(`security ${JSON.stringify(security)} is not valid`, didYouMean(security, SECURITY))
  }
  const mountSpecs = mountFlag()
  let mountsNeedExpansion = false
  const mounts = mountSpecs.map((spec) => {
    const parsed = parseRunMount(spec)
    if (parsed.needsExpansion) mountsNeedExpansion = true
    return parsed.mount
  })
  const heredocs = req.node.heredocs.map((h) => (h.chomp ? { ...h, content: chompHeredocContent(h.content) } : { ...h }))
  return {
    ...base(req, 'run', mountSpecs.length > 0 ? ['mounts'] : []),
    cmd: handleJSONArgs(req.args, req.json),
    prependShell: !req.json,
    heredocs,
    mounts,
    mountSpecs,
    mountsNeedExpansion,
    ...opt('network', network as RunInstruction['network']),
    ...opt('security', security as RunInstruction['security']),
    devices: deviceFlag().map(parseDevice),
    flagsUsed: [...f.used],
  }
}

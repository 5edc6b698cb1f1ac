/** WORKDIR, USER, EXPOSE, STOPSIGNAL, VOLUME, MAINTAINER and ONBUILD. */
import { base, errAtLeastOneArgument, errExactlyOneArgument, invalid, type Request } from './request.ts'
import type {
  ExposeInstruction,
  MaintainerInstruction,
  OnbuildInstruction,
  StopsignalInstruction,
  UserInstruction,
  VolumeInstruction,
  WorkdirInstruction,
} from './types.ts'

function single(req: Request, cmd: string): string {
  if (req.args.length !== 1) throw errExactlyOneArgument(cmd)
  req.flags.parse()
  return req.args[0] as string
}

export const parseWorkdir = (req: Request): WorkdirInstruction => ({
  ...base(req, 'workdir', ['path']),
  path: single(req, 'WORKDIR'),
})

export const parseUser = (req: Request): UserInstruction => ({ ...base(req, 'user', ['user']), user: single(req, 'USER') })

/** BuildKit parses no flags for STOPSIGNAL (it ignores them); cairn rejects unknown ones like everywhere else. */
export const parseStopsignal = (req: Request): StopsignalInstruction => ({
  ...base(req, 'stopsignal', ['signal']),
  signal: single(req, 'STOPSIGNAL'),
})

export const parseMaintainer = (req: Request): MaintainerInstruction => ({
  ...base(req, 'maintainer'),
  maintainer: single(req, 'MAINTAINER'),
})

export function parseExpose(req: Request): ExposeInstruction {
  if (req.args.length === 0) throw errAtLeastOneArgument('EXPOSE')
  req.flags.parse()
  // BuildKit sorts the (unexpanded) words
  const ports = [...req.args].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0))
  return { ...base(req, 'expose', ['ports']), ports }
}

export function parseVolume(req: Request): VolumeInstruction {
  if (req.args.length === 0) throw errAtLeastOneArgument('VOLUME')
  req.flags.parse()
  const volumes = req.args.map((v) => {
    const t = v.trim()
    if (t === '') throw invalid('VOLUME specified can not be an empty string')
    return t
  })
  return { ...base(req, 'volume', ['volumes']), volumes }
}

export function parseOnbuild(req: Request): OnbuildInstruction {
  if (req.args.length === 0) throw errAtLeastOneArgument('ONBUILD')
  req.flags.parse()
  const trigger = (req.args[0] as string).trim().toUpperCase()
  if (trigger === 'ONBUILD') {
    throw invalid('Chaining ONBUILD via `ONBUILD ONBUILD` isn\'t allowed')
  }
  if (trigger === 'MAINTAINER' || trigger === 'FROM') {
    throw invalid(`${trigger} isn't allowed as an ONBUILD trigger`)
  }
  let expression = req.node.original.replace(/^\s*ONBUILD\s*/i, '')
  for (const h of req.node.heredocs) expression += `\n${h.content}${h.name}`
  return { ...base(req, 'onbuild'), expression }
}

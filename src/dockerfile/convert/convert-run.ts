/** RUN → ExecOp: shell/exec form, heredocs, --mount (bind, cache, tmpfs) and --network (dockerfile2llb dispatchRun). */
import { posix } from 'node:path'
import { CairnError, type SourceRange } from '../../core/errors.ts'
import type { BuildRef } from '../../ops/build-ref.ts'
import { type ExecMountSpec, sortMounts } from '../../ops/exec-mounts.ts'
import { ExecOp } from '../../ops/exec-op.ts'
import { FileOp } from '../../ops/file-op.ts'
import type { Vertex } from '../../solver/types.ts'
import type { RunInstruction, RunMount } from '../instructions/index.ts'
import { parseRunMount } from '../instructions/index.ts'
import { parseHeredoc } from '../parser/index.ts'
import type { ConvertOptions } from './convert.ts'
import type { Conv, StageState } from './state.ts'
import type { SecretMountSpec } from '../../secrets/exec-secrets.ts'
import { secretMount } from './convert-secret.ts'

interface PendingMount {
  spec: Omit<ExecMountSpec, 'input'>
  source?: Vertex<BuildRef>
}

/** The mounts of a RUN, expanded, validated and resolved to their source vertices. */
async function runMounts(c: Conv, o: ConvertOptions, st: StageState, idx: number, cmd: RunInstruction, chain: number[], secrets: SecretMountSpec[]): Promise<PendingMount[]> {
  const r = cmd.range
  let mounts: RunMount[] = cmd.mounts
  if (cmd.mountsNeedExpansion) {
    mounts = cmd.mountSpecs.map((spec) => {
      try {
        return parseRunMount(spec, (w) => c.expand(st, w, r)).mount
      } catch (err) {
        return c.fail((err as Error).message, r, err instanceof CairnError ? err.hint : undefined)
      }
    })
  }
  const out: PendingMount[] = []
  const dests = new Set<string>()
  for (const m of mounts) {
    if (m.type === 'secret') {
      const s = secretMount(m, st.workdir)
      if (s.dest !== undefined && dests.has(s.dest)) c.fail(`RUN --mount: two mounts at ${s.dest}`, r)
      if (s.dest !== undefined) dests.add(s.dest)
      secrets.push(s)
      continue
    }
    if (m.type === 'ssh') {
      c.fail('RUN --mount=type=ssh is not supported yet', r, 'remove the type=ssh mount; fetch private sources in a stage that uses --mount=type=secret instead')
    }
    if (!m.target) c.fail(`RUN --mount=type=${m.type}: a target is required`, r, 'add target=<path in the container>')
    const dest = posix.resolve(st.workdir, m.target as string)
    if (dest === '/') c.fail(`invalid mount target "${m.target}"`, r, 'mount somewhere below /')
    if (dests.has(dest)) c.fail(`RUN --mount: two mounts at ${dest}`, r)
    dests.add(dest)
    if (m.type === 'tmpfs') {
      out.push({ spec: { kind: 'tmpfs', dest, readonly: false, ...(m.size ? { size: m.size } : {}) } })
      continue
    }
    const from = m.from ? await c.source(m.from, idx, chain, r) : undefined
    if (m.type === 'bind') {
      out.push({ spec: { kind: 'bind', dest, readonly: m.readonly, selector: m.source ?? '' }, source: from ?? c.context() })
      continue
    }
    const spec: Omit<ExecMountSpec, 'input'> = {
      kind: 'cache',
      dest,
      readonly: m.readonly,
      cacheId: `/${m.id || posix.normalize(m.target as string)}`,
      sharing: m.sharing ?? 'shared',
    }
    if (from) {
      out.push({ spec: { ...spec, selector: m.source ?? '' }, source: from })
    } else if (m.uid !== undefined || m.gid !== undefined || m.mode !== undefined) {
      // BuildKit mounts a `mkdir /cache` on scratch to give a new cache its owner and mode
      const op = new FileOp(
        {
          hasBase: false,
          actions: [{ kind: 'mkdir', path: '/cache', mode: m.mode ?? 0o755, chown: `${m.uid ?? 0}:${m.gid ?? 0}`, makeParents: false }],
          origin: `${o.file}:${r.startLine}`,
          createdBy: 'cache mount permissions',
        },
        0,
        o,
      )
      const v: Vertex<BuildRef> = { id: c.id(idx, 'cache-perm'), name: '[internal] settings cache mount permissions', op, inputs: [], internal: true }
      out.push({ spec: { ...spec, selector: '/cache' }, source: v })
    } else out.push({ spec })
  }
  return out
}

/** The step text BuildKit shows: flags, then the command. */
function runText(cmd: RunInstruction): string {
  const flags = [...cmd.mountSpecs.map((s) => `--mount=${s}`), ...(cmd.network ? [`--network=${cmd.network}`] : [])]
  const body =
    cmd.heredocs.length > 0 ? cmd.original.replace(/^\S+\s*/, '').replace(/^(--\S+\s+)*/, '') : cmd.prependShell ? cmd.cmd.join(' ') : JSON.stringify(cmd.cmd)
  return `RUN ${[...flags, body].join(' ')}`
}

export async function dispatchRun(c: Conv, o: ConvertOptions, st: StageState, idx: number, cmd: RunInstruction, chain: number[]): Promise<void> {
  const r: SourceRange = cmd.range
  if (cmd.security === 'insecure') c.fail('RUN --security=insecure is not supported', r, 'remove the flag; cairn runs every step unprivileged')
  if (cmd.devices.length > 0) c.fail('RUN --device is not supported', r, 'remove the flag')
  const secrets: SecretMountSpec[] = []
  const pending = await runMounts(c, o, st, idx, cmd, chain, secrets)

  let args: string[]
  if (cmd.heredocs.length > 0) {
    const single = cmd.cmd.length === 1 && cmd.prependShell ? safeHeredoc(cmd.cmd[0] as string) : undefined
    const first = cmd.heredocs[0] as (typeof cmd.heredocs)[0]
    if (single && first.content.startsWith('#!')) {
      // a script with a shebang: written to a file, mounted read-only at /dev/pipes/ and executed
      const op = new FileOp(
        {
          hasBase: false,
          actions: [{ kind: 'mkfile', path: `/${first.name}`, mode: 0o755, data: Buffer.from(first.content) }],
          origin: `${o.file}:${r.startLine}`,
          createdBy: 'preparing inline document',
        },
        0,
        o,
      )
      const v: Vertex<BuildRef> = { id: c.id(idx, 'heredoc'), name: '[internal] preparing inline document', op, inputs: [], internal: true }
      pending.push({ spec: { kind: 'bind', dest: '/dev/pipes/', readonly: true, selector: '/' }, source: v })
      args = [posix.join('/dev/pipes/', first.name)]
    } else if (single) {
      args = [...st.shell, first.content]
    } else {
      let full = cmd.cmd[0] ?? ''
      for (const h of cmd.heredocs) full += `\n${h.content}${h.name}`
      args = [...st.shell, full]
    }
  } else args = cmd.prependShell ? [...st.shell, cmd.cmd.join(' ')] : cmd.cmd

  // inputs: the rootfs first, then each distinct mount source in destination order
  const base = st.vertex ?? c.scratch()
  const inputs: Vertex<BuildRef>[] = [base]
  const mounts: ExecMountSpec[] = []
  for (const p of sortMounts(pending.map((x) => ({ ...x, dest: x.spec.dest })))) {
    let input = -1
    if (p.source) {
      input = inputs.indexOf(p.source)
      if (input < 0) input = inputs.push(p.source) - 1
    }
    mounts.push({ ...p.spec, input })
  }

  const text = runText(cmd)
  const network = cmd.network === 'host' ? 'host' : cmd.network === 'none' ? 'none' : 'sandbox'
  const op = new ExecOp(
    {
      args,
      env: st.env.runList(),
      cwd: st.workdir,
      ...(st.user ? { user: st.user } : {}),
      network,
      platform: o.platform,
      origin: `${o.file}:${r.startLine}`,
      ...(mounts.length ? { mounts } : {}),
      ...(secrets.length ? { secrets } : {}),
    },
    o,
  )
  c.addVertex(st, { id: c.id(idx, 'run'), name: c.nextName(st, text), op, inputs }, `${text} # buildkit`)
}

function safeHeredoc(word: string) {
  try {
    return parseHeredoc(word)
  } catch {
    return undefined
  }
}

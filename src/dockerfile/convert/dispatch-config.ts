/** Instructions that only change the stage state or the image config (no op): ENV, LABEL, USER, CMD, ... */
import { posix } from 'node:path'
import type { ContainerConfig } from '../../oci/types.ts'
import { FileOp } from '../../ops/file-op.ts'
import type { Instruction } from '../instructions/index.ts'
import type { ConvertOptions } from './convert.ts'
import type { Conv, StageState } from './state.ts'

const SIGNALS = new Set([
  'ABRT',
  'ALRM',
  'BUS',
  'CHLD',
  'CLD',
  'CONT',
  'FPE',
  'HUP',
  'ILL',
  'INT',
  'IO',
  'IOT',
  'KILL',
  'PIPE',
  'POLL',
  'PROF',
  'PWR',
  'QUIT',
  'SEGV',
  'STKFLT',
  'STOP',
  'SYS',
  'TERM',
  'TRAP',
  'TSTP',
  'TTIN',
  'TTOU',
  'URG',
  'USR1',
  'USR2',
  'VTALRM',
  'WINCH',
  'XCPU',
  'XFSZ',
])

/** Docker's signal.ParseSignal: a number, `SIGNAME`, `NAME` or `RTMIN+n`. */
export function validSignal(s: string): boolean {
  if (/^\d+$/.test(s)) return Number(s) > 0 && Number(s) <= 64
  const name = s.toUpperCase().replace(/^SIG/, '')
  return SIGNALS.has(name) || /^RTM(IN(\+\d+)?|AX(-\d+)?)$/.test(name)
}

/** Go's %v of a string slice: `[a b c]`. */
const goList = (a: readonly string[]) => `[${a.join(' ')}]`

/** Handles an instruction that makes no op except WORKDIR; returns false for the ones it does not know. */
export function dispatchConfig(c: Conv, o: ConvertOptions, st: StageState, idx: number, cmd: Instruction): boolean {
  const r = cmd.range
  const env = st.env
  switch (cmd.kind) {
    case 'arg': {
      for (const kv of cmd.args) {
        st.declaredArgs.add(kv.key)
        const given = o.buildArgs.get(kv.key)
        let v = given ?? (kv.value !== undefined ? c.expand(st, kv.value, r) : undefined)
        if (v === undefined) v = c.metaArg(kv.key)
        if (v !== undefined) env.setArg(kv.key, v)
      }
      return true
    }
    case 'env': {
      for (const kv of cmd.env) env.setEnv(kv.key, c.expand(st, kv.value, r))
      st.config.Env = env.configList()
      st.pending.push({ createdBy: `ENV ${cmd.env.map((kv) => `${kv.key}=${env.config.get(kv.key)}`).join(' ')}` })
      return true
    }
    case 'label': {
      st.config.Labels ??= {}
      for (const kv of cmd.labels) st.config.Labels[c.expand(st, kv.key, r)] = c.expand(st, kv.value, r)
      st.pending.push({ createdBy: `LABEL ${cmd.labels.map((kv) => `${kv.key}=${kv.value}`).join(' ')}` })
      return true
    }
    case 'user': {
      st.user = c.expand(st, cmd.user, r)
      st.config.User = st.user
      st.pending.push({ createdBy: `USER ${st.user}` })
      return true
    }
    case 'expose': {
      st.config.ExposedPorts ??= {}
      for (const p of cmd.ports) {
        for (const port of c.expand(st, p, r).split(/\s+/).filter(Boolean)) st.config.ExposedPorts[port.includes('/') ? port : `${port}/tcp`] = {}
      }
      st.pending.push({
        createdBy: `EXPOSE map[${Object.keys(st.config.ExposedPorts)
          .map((k) => `${k}:{}`)
          .join(' ')}]`,
      })
      return true
    }
    case 'cmd':
    case 'entrypoint': {
      if (cmd.prependShell && st.config.Shell?.length) c.shellSet(r.startLine)
      const value = cmd.prependShell ? [...st.shell, cmd.cmd.join(' ')] : cmd.cmd
      if (cmd.kind === 'cmd') {
        st.config.Cmd = value
        st.cmdSet = true
      } else {
        st.config.Entrypoint = value
        if (!st.cmdSet) st.config.Cmd = null
      }
      st.pending.push({ createdBy: `${cmd.kind.toUpperCase()} ${JSON.stringify(value)}` })
      return true
    }
    case 'shell': {
      st.shell = [...cmd.shell]
      st.config.Shell = [...cmd.shell]
      st.pending.push({ createdBy: `SHELL ${goList(cmd.shell)}` })
      return true
    }
    case 'stopsignal': {
      const sig = c.expand(st, cmd.signal, r)
      if (!validSignal(sig)) c.fail(`Invalid signal: ${sig}`, r, 'use a signal name like SIGTERM or a number')
      st.config.StopSignal = sig
      st.pending.push({ createdBy: `STOPSIGNAL ${sig}` })
      return true
    }
    case 'volume': {
      st.config.Volumes ??= {}
      const vols = cmd.volumes.map((v) => c.expand(st, v, r))
      for (const v of vols) {
        if (v === '') c.fail('VOLUME specified can not be an empty string', r)
        st.config.Volumes[v] = {}
      }
      st.pending.push({ createdBy: `VOLUME ${goList(vols)}` })
      return true
    }
    case 'healthcheck': {
      const h: NonNullable<ContainerConfig['Healthcheck']> = { Test: cmd.test }
      if (cmd.interval !== undefined) h.Interval = cmd.interval
      if (cmd.timeout !== undefined) h.Timeout = cmd.timeout
      if (cmd.startPeriod !== undefined) h.StartPeriod = cmd.startPeriod
      if (cmd.startInterval !== undefined) h.StartInterval = cmd.startInterval
      if (cmd.retries !== undefined) h.Retries = cmd.retries
      st.config.Healthcheck = h
      st.pending.push({ createdBy: `HEALTHCHECK &{${goList(cmd.test.map((t) => JSON.stringify(t)))}}` })
      return true
    }
    case 'onbuild': {
      st.config.OnBuild = [...(st.config.OnBuild ?? []), cmd.expression]
      st.pending.push({ createdBy: `ONBUILD ${cmd.expression}` })
      return true
    }
    case 'maintainer': {
      st.pending.push({ createdBy: `MAINTAINER ${cmd.maintainer}` })
      return true
    }
    case 'workdir': {
      const p = c.expand(st, cmd.path, r)
      if (!p.startsWith('/') && !st.workdirSet) {
        c.warn({ rule: 'WorkdirRelativePath', message: `Relative workdir '${p}' can have unexpected results if the base image changes`, range: r })
      }
      if (p.startsWith('/')) st.workdirSet = true
      st.workdir = posix.resolve(st.workdir, p)
      st.config.WorkingDir = st.workdir
      if (st.workdir !== '/') {
        const op = new FileOp(
          {
            hasBase: st.vertex !== undefined,
            actions: [{ kind: 'mkdir', path: st.workdir, mode: 0o755, ...(st.user ? { chown: st.user } : {}) }],
            origin: `${o.file}:${r.startLine}`,
            createdBy: `WORKDIR ${st.workdir}`,
          },
          st.vertex ? 1 : 0,
          o,
        )
        c.addVertex(
          st,
          { id: c.id(idx, 'workdir'), name: c.nextName(st, `WORKDIR ${st.workdir}`), op, inputs: st.vertex ? [st.vertex] : [] },
          `WORKDIR ${st.workdir}`,
        )
      } else st.step++
      return true
    }
    default:
      return false
  }
}

/**
 * The two environment orders a stage keeps (dockerfile2llb): the image config's Env, where a
 * re-assigned key keeps its place, and the env of RUN steps, where a re-assigned key moves to the
 * end (BuildKit's EnvList order, which enters cache keys).
 */
export class StageEnv {
  readonly config: Map<string, string>
  readonly run: Map<string, string>

  constructor(imageEnv: readonly string[]) {
    this.config = new Map()
    this.run = new Map()
    for (const kv of imageEnv) {
      const i = kv.indexOf('=')
      const k = i < 0 ? kv : kv.slice(0, i)
      const v = i < 0 ? '' : kv.slice(i + 1)
      this.config.set(k, v)
      this.run.set(k, v)
    }
  }

  clone(): StageEnv {
    const c = new StageEnv([])
    for (const [k, v] of this.config) c.config.set(k, v)
    for (const [k, v] of this.run) c.run.set(k, v)
    return c
  }

  /** ENV: both orders. */
  setEnv(k: string, v: string): void {
    this.config.set(k, v)
    this.run.delete(k)
    this.run.set(k, v)
  }

  /** ARG with a value: RUN env only; an ENV of the same name wins. */
  setArg(k: string, v: string): void {
    if (this.config.has(k)) return
    this.run.delete(k)
    this.run.set(k, v)
  }

  get(k: string): string | undefined {
    return this.run.get(k)
  }

  configList(): string[] {
    return [...this.config].map(([k, v]) => `${k}=${v}`)
  }

  runList(): string[] {
    return [...this.run].map(([k, v]) => `${k}=${v}`)
  }
}

export const DEFAULT_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin'

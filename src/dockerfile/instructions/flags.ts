/** Instruction flags (`--name[=value]`) with BuildKit's BFlags rules and messages. */
import { InvalidArgumentError } from '../../core/errors.ts'
import { didYouMean } from './suggest.ts'

type FlagType = 'bool' | 'string' | 'strings'

interface FlagDef {
  type: FlagType
  value: string | undefined
  values: string[]
}

export class Flags {
  private readonly defs = new Map<string, FlagDef>()
  readonly used = new Set<string>()

  constructor(private readonly args: readonly string[]) {}

  private add(name: string, type: FlagType): FlagDef {
    const def: FlagDef = { type, value: undefined, values: [] }
    this.defs.set(name, def)
    return def
  }

  bool(name: string): () => boolean | undefined {
    const def = this.add(name, 'bool')
    return () => (def.value === undefined ? undefined : def.value === 'true')
  }

  string(name: string): () => string | undefined {
    const def = this.add(name, 'string')
    return () => def.value
  }

  strings(name: string): () => string[] {
    const def = this.add(name, 'strings')
    return () => def.values
  }

  /** Validates every given flag against the declared ones. Throws InvalidArgumentError. */
  parse(): void {
    for (const arg of this.args) {
      if (arg === '--') return
      if (!arg.startsWith('--')) throw new InvalidArgumentError(`arg should start with -- : ${arg}`)
      const eq = arg.indexOf('=')
      const flagName = eq < 0 ? arg : arg.slice(0, eq)
      const value = eq < 0 ? '' : arg.slice(eq + 1)
      const hasValue = eq >= 0
      const name = flagName.slice(2)
      const def = this.defs.get(name)
      if (def === undefined) {
        throw new InvalidArgumentError(`unknown flag: ${flagName}`, {
          ...didYouMean(name, this.defs.keys(), (s) => `--${s}`),
        })
      }
      if (this.used.has(name) && def.type !== 'strings') {
        throw new InvalidArgumentError(`duplicate flag specified: ${flagName}`)
      }
      this.used.add(name)
      switch (def.type) {
        case 'bool': {
          if (hasValue && value === '') throw new InvalidArgumentError(`missing a value on flag: ${flagName}`)
          const v = value.toLowerCase()
          if (v === 'true' || v === '') def.value = 'true'
          else if (v === 'false') def.value = 'false'
          else throw new InvalidArgumentError(`expecting boolean value for flag ${flagName}, not: ${value}`)
          break
        }
        case 'string':
          if (!hasValue) throw new InvalidArgumentError(`missing a value on flag: ${flagName}`)
          def.value = value
          break
        case 'strings':
          if (!hasValue) throw new InvalidArgumentError(`missing a value on flag: ${flagName}`)
          def.values.push(value)
          break
      }
    }
  }
}

/** Test helper: writes an entry list to disk with the given modes (owners as the current user). */
import { chmodSync, linkSync, mkdirSync, symlinkSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { InvalidArgumentError } from '../core/errors.ts'
import type { EntrySpec } from './entries.ts'

export function materialize(root: string, specs: readonly EntrySpec[]): void {
  mkdirSync(root, { recursive: true })
  const dirs: [string, number][] = []
  for (const s of specs) {
    const p = join(root, s.path)
    switch (s.type) {
      case 'dir':
        mkdirSync(p, { recursive: true })
        dirs.push([p, s.mode])
        break
      case 'file':
        writeFileSync(p, s.content ?? '')
        chmodSync(p, s.mode)
        break
      case 'symlink':
        symlinkSync(s.target ?? '', p)
        break
      case 'hardlink':
        linkSync(join(root, s.target ?? ''), p)
        break
      default:
        throw new InvalidArgumentError(`materialize: unsupported type ${s.type}`)
    }
  }
  for (const [p, mode] of dirs.reverse()) chmodSync(p, mode)
}

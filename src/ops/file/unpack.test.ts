import assert from 'node:assert/strict'
import { execFileSync, spawnSync } from 'node:child_process'
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, it } from 'node:test'
import { decompressed } from './unpack.ts'

const missing = ['xz', 'bzip2'].filter((p) => spawnSync(p, ['--help']).error !== undefined)

describe('archive decompression through xz and bzip2', {
  skip: missing.length > 0 ? `needs ${missing.join(', ')} (apt-get install -y xz-utils bzip2)` : undefined,
}, () => {
  for (const kind of ['xz', 'bzip2'] as const) {
    it(`${kind}: the output is whole even when read only after the decompressor has exited`, async () => {
      const dir = await mkdtemp(join(tmpdir(), 'cairn-unpack-'))
      try {
        const data = Buffer.from('in the archive\n'.repeat(100))
        await writeFile(join(dir, 'f'), data)
        execFileSync(kind, ['-k', join(dir, 'f')])
        const file = join(dir, kind === 'xz' ? 'f.xz' : 'f.bz2')
        const { stream, done } = decompressed(file, kind, new AbortController().signal)
        await done // the child has exited and its pipes are closed
        await new Promise((r) => setTimeout(r, 20))
        const parts: Buffer[] = []
        for await (const c of stream) parts.push(c as Buffer)
        assert.deepEqual(Buffer.concat(parts), data)
        assert.deepEqual(await readFile(join(dir, 'f')), data)
      } finally {
        await rm(dir, { recursive: true, force: true })
      }
    })
  }
})

import assert from 'node:assert/strict'
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, it } from 'node:test'
import { packLayer } from '../layer/write-layer.ts'
import { createLeakGuard, isSecretLeak, SecretLeakError } from './leak-guard.ts'
import { createSecretStore } from './store.ts'

const VALUE = 'leaky-secret-value-42'

describe('createLeakGuard', () => {
  it('a scanner throws SecretLeakError naming the step and the id, never the value', () => {
    const g = createLeakGuard({ secrets: createSecretStore({ x: VALUE, other: 'unrelated-value' }) })
    g.nameSteps(new Map([['L1', 'Dockerfile:3 ([stage-0 2/2] RUN cp /run/secrets/x /leak)']]))
    const scan = g.scannerFor('L1', 'RUN ...')
    assert.ok(scan)
    scan(Buffer.from('some bytes leaky-secret-'))
    assert.throws(
      () => scan(Buffer.from('value-42 more')),
      (e: unknown) =>
        e instanceof SecretLeakError &&
        isSecretLeak(e) &&
        e.secretId === 'x' &&
        e.layerId === 'L1' &&
        /Dockerfile:3/.test(e.message) &&
        /"x"/.test(e.message) &&
        !e.message.includes(VALUE) &&
        !(e.hint ?? '').includes(VALUE) &&
        /--allow-secret-in-layer=x/.test(e.hint ?? ''),
    )
  })
  it('an allowed secret is a warning (once per layer); short secrets are unguarded; no secrets means no scanner', () => {
    const warnings: string[] = []
    const g = createLeakGuard({ secrets: createSecretStore({ x: VALUE, s: 'ab' }), allow: new Set(['x']), warn: (m) => warnings.push(m) })
    assert.deepEqual(g.unguarded, ['s'])
    const scan = g.scannerFor('L2', 'RUN cp')
    scan?.(Buffer.from(`${VALUE} ${VALUE}`))
    scan?.(Buffer.from(VALUE))
    assert.equal(warnings.length, 1)
    assert.ok(!warnings[0]?.includes(VALUE))
    assert.equal(createLeakGuard({ secrets: createSecretStore({}) }).scannerFor('L', undefined), undefined)
    assert.equal(createLeakGuard({ secrets: createSecretStore({ s: 'abc' }) }).active, false)
  })
  it('fails packLayer for a directory that holds the value, and passes a clean one', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'cairn-guard-'))
    try {
      await mkdir(join(dir, 'clean'))
      await writeFile(join(dir, 'clean', 'f'), 'nothing to see')
      await mkdir(join(dir, 'leak', 'etc'), { recursive: true })
      await writeFile(join(dir, 'leak', 'etc', 'pad'), Buffer.alloc(200_000, 'a'))
      await writeFile(join(dir, 'leak', 'etc', 'token'), `prefix ${VALUE}\n`)
      const g = createLeakGuard({ secrets: createSecretStore({ x: VALUE }) })
      const drain = async (s: NodeJS.ReadableStream) => {
        for await (const _ of s) {
          /* discard */
        }
      }
      const scan1 = g.scannerFor('clean', undefined)
      const ok = await packLayer({ upperDir: join(dir, 'clean'), mode: 'plain' }, drain, {
        compression: 'gzip',
        ...(scan1 ? { onUncompressedChunk: scan1 } : {}),
      })
      assert.match(ok.diffID, /^sha256:/)
      const scan2 = g.scannerFor('leak', 'RUN cp')
      await assert.rejects(
        packLayer({ upperDir: join(dir, 'leak'), mode: 'plain' }, drain, { compression: 'gzip', ...(scan2 ? { onUncompressedChunk: scan2 } : {}) }),
        (e: unknown) => isSecretLeak(e) && /the step "RUN cp"/.test((e as Error).message),
      )
    } finally {
      await rm(dir, { recursive: true, force: true })
    }
  })
})

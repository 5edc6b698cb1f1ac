import assert from 'node:assert/strict'
import { mkdir, symlink, truncate, writeFile } from 'node:fs/promises'
import { createServer } from 'node:net'
import { join } from 'node:path'
import { after, before, describe, it } from 'node:test'
import { setAttributeSync } from '@napi-rs/xattr'
import { nativeTar, nativeTarBlocks, nativeTarFits } from './native-tar.ts'
import { tarBlocks } from './tar-blocks.ts'
import { cleanup, isRoot, makeTree, run, tempDir } from './test-support.ts'
import { walkLayerEntries } from './walk.ts'

const addon = nativeTar()
/** Set by .ci/run, where gcc is installed: a writer that failed to build must fail the suite, not skip it. */
const required = process.env.CAIRN_TEST_REQUIRE_NATIVE_TAR === '1'

it('the native tar writer is built', {
  skip: !addon && !required && 'not built (no gcc or node headers at `npm run build`); CAIRN_TEST_REQUIRE_NATIVE_TAR=1 makes that a failure',
}, () => {
  assert.ok(addon, 'dist/bundle/cairn-tarwalk.node is missing: `npm run build` compiles native/tarwalk.c with gcc and /usr/include/node/node_api.h')
})

/** The tar the TypeScript writer makes of `dir`, in blocks of `size`. */
function viaTs(dir: string, overlay: boolean, mtime: number, size: number): Buffer[] {
  return [...tarBlocks(walkLayerEntries(dir, { mode: overlay ? 'overlay' : 'plain', mtime }), { blockSize: size, alloc: () => Buffer.alloc(size) })].map((b) =>
    Buffer.from(b),
  )
}

function viaC(dir: string, overlay: boolean, mtime: number, size: number): Buffer[] {
  if (!addon) throw new Error('no addon')
  return [...nativeTarBlocks(addon, dir, overlay, mtime, { blockSize: size, alloc: () => Buffer.alloc(size) })].map((b) => Buffer.from(b))
}

/** Both writers, block for block (lengths and bytes), at several block sizes and modes. */
function assertSameTar(dir: string, mtime = 0): void {
  for (const overlay of [false, true]) {
    for (const size of [1 << 20, 1536, 4096 + 512]) {
      const a = viaTs(dir, overlay, mtime, size)
      const b = viaC(dir, overlay, mtime, size)
      assert.deepEqual(
        b.map((x) => x.length),
        a.map((x) => x.length),
        `block lengths (overlay ${overlay}, blocks of ${size})`,
      )
      const ta = Buffer.concat(a)
      const tb = Buffer.concat(b)
      if (!ta.equals(tb)) {
        let i = 0
        while (ta[i] === tb[i]) i++
        assert.fail(
          `the tars differ at byte ${i} (overlay ${overlay}, blocks of ${size}): ${JSON.stringify(ta.subarray(i - (i % 512), i - (i % 512) + 160).toString('latin1'))} vs ${JSON.stringify(tb.subarray(i - (i % 512), i - (i % 512) + 160).toString('latin1'))}`,
        )
      }
    }
  }
}

describe('native tar writer (native/tarwalk.c)', {
  skip: (!addon && 'not built: `npm run build` compiles it with gcc and node headers') || (!isRoot && 'needs root (chown, mknod)'),
}, () => {
  let w: string
  before(async () => {
    w = await tempDir('native')
  })
  after(() => cleanup(w))

  it('writes the same bytes as the TypeScript writer for every kind of entry', async () => {
    const dir = join(w, 'tree')
    await mkdir(dir)
    await makeTree(dir)
    // bodies around the 512-byte boundary and across blocks
    for (const n of [1, 511, 512, 513, 1535, 4097]) await writeFile(join(dir, `size-${n}`), Buffer.alloc(n, n % 251))
    await writeFile(join(dir, 'sparse'), '')
    await truncate(join(dir, 'sparse'), 2 * 1024 * 1024 + 5)
    // names that sort differently by bytes than by UTF-16, and that need PAX headers with non-ASCII names
    for (const n of ['Z', 'a', 'a-b', 'a.b', 'é', '\u{1F600}', 'ｚ', '日本']) await writeFile(join(dir, n), n)
    const longUnicode = `${'ü'.repeat(60)}/${'\u{1F600}'.repeat(30)}-${'x'.repeat(40)}`
    await mkdir(join(dir, longUnicode.split('/')[0] as string))
    await writeFile(join(dir, longUnicode), 'pax\n')
    await writeFile(join(dir, 'y'.repeat(150)), 'one component over 100 bytes\n')
    await symlink('é'.repeat(70), join(dir, 'unicode-long-link'))
    await run('mknod', [join(dir, 'null'), 'c', '1', '3'])
    await run('mknod', [join(dir, 'blk'), 'b', '7', '200'])
    // overlay-only meanings: whiteouts (0:0 device, xattr), opaque dirs; plain mode packs them as they are
    await run('mknod', [join(dir, 'gone'), 'c', '0', '0'])
    await writeFile(join(dir, 'gone-too'), '')
    setAttributeSync(join(dir, 'gone-too'), 'user.overlay.whiteout', '')
    await mkdir(join(dir, 'opaque/inside'), { recursive: true })
    setAttributeSync(join(dir, 'opaque'), 'trusted.overlay.opaque', 'y')
    await mkdir(join(dir, 'not-opaque'))
    setAttributeSync(join(dir, 'not-opaque'), 'user.overlay.opaque', 'n')
    setAttributeSync(join(dir, 'etc/passwd'), 'user.a', 'first')
    setAttributeSync(join(dir, 'etc/passwd'), 'security.b', Buffer.from([0, 1, 2]))
    const sock = join(dir, 'sock')
    const server = createServer()
    await new Promise<void>((resolve) => server.listen(sock, resolve))
    try {
      assertSameTar(dir)
      assertSameTar(dir, 1_700_000_000)
    } finally {
      server.close()
    }
  })

  it('throws what the TypeScript writer throws', async () => {
    const dir = join(w, 'redirect')
    await mkdir(join(dir, 'moved'), { recursive: true })
    setAttributeSync(join(dir, 'moved'), 'trusted.overlay.redirect', '/elsewhere')
    const ts = (() => {
      try {
        viaTs(dir, true, 0, 1 << 20)
      } catch (e) {
        return e as Error & { code?: string; hint?: string }
      }
    })()
    assert.throws(
      () => viaC(dir, true, 0, 1 << 20),
      (e: Error & { code?: string; hint?: string }) => e.message === ts?.message && e.code === 'ERR_LAYER_OVERLAY_FEATURE' && e.hint === ts?.hint,
    )
    assert.throws(() => viaC(join(w, 'missing'), false, 0, 1 << 20), { code: 'ENOENT', syscall: 'scandir' })
  })

  it('says which file changed size while it was packed, and lets go of an unfinished walk', async () => {
    const dir = join(w, 'shrink')
    await mkdir(dir)
    await writeFile(join(dir, 'f'), 'ten bytes!')
    await writeFile(join(dir, 'g'), Buffer.alloc(3000, 1))
    const n = addon as NonNullable<typeof addon>
    const h = n.open(dir, false, 0)
    assert.equal(n.fill(h, Buffer.alloc(512), 0), 512) // f's header, not yet its body
    await truncate(join(dir, 'f'), 0)
    assert.throws(() => n.fill(h, Buffer.alloc(512), 0), {
      code: 'ERR_LAYER_SIZE_CHANGED',
      message: 'tar: "f" produced 0 bytes, header says 10 (file changed while packing?)',
    })
    n.close(h)
    assert.throws(() => n.fill(h, Buffer.alloc(512), 0), { code: 'ERR_TAR_CLOSED' })
    // an abort between blocks stops the walk; its file and directory handles are closed (the generator's finally)
    const ac = new AbortController()
    const blocks = nativeTarBlocks(n, dir, false, 0, { blockSize: 1024, alloc: () => Buffer.alloc(1024), signal: ac.signal })
    blocks.next()
    ac.abort()
    assert.throws(() => blocks.next(), { name: 'AbortError' })
  })

  it('is used only with options it supports', () => {
    assert.equal(nativeTarFits({ mtime: 0 }), true)
    assert.equal(nativeTarFits({ mtime: 1.5 }), false)
    assert.equal(nativeTarFits({ mtime: -1 }), false)
    assert.equal(nativeTarFits({ mtime: 0, exclude: () => false }), false)
  })
})

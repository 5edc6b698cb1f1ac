import assert from 'node:assert/strict'
import { chownSync, linkSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { setAttributeSync } from '@napi-rs/xattr'
import { after, describe, it } from 'node:test'
import { type Digest, EMPTY_DIGEST, sha256 } from '../core/digest.ts'
import {
  checksumEntries, contentKey, createContentHasher, createFileHashMemo, createPatternFilter, entryDigest,
  type EntrySpec, type FileIdentity, type HashMemo, hashedXattrNames,
} from './index.ts'
import { materialize } from './testutil.ts'

const DATA0 = 'sha256:cd8e75bca50f2d695f220d0cb0997d8ead387e4f926e8669a92d7f104cc9885b' as Digest
const tmp = mkdtempSync(join(tmpdir(), 'cairn-contenthash-'))
after(() => rmSync(tmp, { recursive: true, force: true }))
let seq = 0
const dir = () => join(tmp, String(seq++))
const isRoot = process.getuid?.() === 0

const base: EntrySpec[] = [
  { path: '/', type: 'dir', mode: 0o755 },
  { path: '/foo', type: 'file', mode: 0o644, content: 'data0' },
  { path: '/fox', type: 'file', mode: 0o644, content: 'data2' },
  { path: '/d', type: 'dir', mode: 0o755 },
  { path: '/d/a', type: 'file', mode: 0o644, content: 'data0' },
  { path: '/d/keep', type: 'file', mode: 0o644, content: 'k' },
]

describe('entry digests', () => {
  it('tarsum v1 preimage of a 0644 file (§3.7)', () => {
    assert.equal(sha256('namemode420uid0gid0size5typeflag0linknameunamegnamedevmajor0devminor0data0'), DATA0)
    assert.equal(entryDigest({ mode: 0o644, uid: 0, gid: 0, typeflag: '0', size: 5, linkname: '', devmajor: 0, devminor: 0 }, 'data0'), DATA0)
  })
  it('xattr filter keeps security.capability and drops security.* / system.*', () => {
    assert.deepEqual(hashedXattrNames(['user.b', 'security.selinux', 'system.posix_acl_access', 'security.capability', 'user.a', 'trusted.x']), ['security.capability', 'trusted.x', 'user.a', 'user.b'])
  })
  it('contentKey joins checksums with \\0 (§3.7 selector key)', () => {
    assert.equal(contentKey([DATA0]), sha256(DATA0))
    assert.equal(contentKey([DATA0, EMPTY_DIGEST]), sha256(`${DATA0}\0${EMPTY_DIGEST}`))
  })
})

describe('file-list checksums (BuildKit test expectations computed in-test)', () => {
  it('f*o: one hit whose base name differs from the pattern hashes the list', async () => {
    assert.equal(await checksumEntries(base, 'f*o', { wildcard: true }), sha256(`\0foo${DATA0}`))
  })
  it('nothing included → sha256("")', async () => {
    const tree: EntrySpec[] = [{ path: '/prefix/a/b/c', type: 'dir', mode: 0o755 }]
    assert.equal(await checksumEntries(tree, 'prefix/a', { includePatterns: ['**/foo/**', '**/report'] }), EMPTY_DIGEST)
  })
  it('required paths must be covered', async () => {
    await checksumEntries(base, 'd', { includePatterns: ['a'], requiredPaths: ['/d/a'] })
    await assert.rejects(checksumEntries(base, 'd', { includePatterns: ['a'], requiredPaths: ['/d/keep'] }), { code: 'ERR_CONTENTHASH_NOT_FOUND' })
  })
  it('hardlinks reuse the target record', async () => {
    const tree: EntrySpec[] = [...base, { path: '/d/link', type: 'hardlink', mode: 0o600, target: '/foo' }]
    assert.equal(await checksumEntries(tree, 'd/link'), DATA0)
  })
  it('missing paths reject with NotFoundError', async () => {
    await assert.rejects(checksumEntries(base, 'nope'), { code: 'ERR_CONTENTHASH_NOT_FOUND' })
  })
})

describe('on-disk hasher', () => {
  it('symlinks resolve inside the root and never escape it', async () => {
    const root = dir()
    materialize(root, base)
    symlinkSync('../../../../../../etc/passwd', join(root, 'up'))
    symlinkSync('/foo', join(root, 'abs'))
    symlinkSync('/d', join(root, 'dl'))
    const h = createContentHasher(root, { mode: 'snapshot' })
    await assert.rejects(h.checksum('up', { followLinks: true }), { code: 'ERR_CONTENTHASH_NOT_FOUND' })
    assert.equal(await h.checksum('abs', { followLinks: true }), DATA0)
    assert.equal(await h.checksum('dl/a', { followLinks: false }), DATA0)
    assert.equal(await h.checksum('dl', { followLinks: true }), await h.checksum('d'))
    assert.notEqual(await h.checksum('dl'), await h.checksum('d'))
  })

  it('hardlinks share one digest; snapshot hashes real owners and xattrs, context does not', async () => {
    const root = dir()
    materialize(root, base)
    linkSync(join(root, 'foo'), join(root, 'd', 'hl'))
    const snap = createContentHasher(root, { mode: 'snapshot' })
    assert.equal(await snap.checksum('d/hl'), DATA0)
    setAttributeSync(join(root, 'fox'), 'user.k', 'v')
    const withX = entryDigest({ mode: 0o644, uid: 0, gid: 0, typeflag: '0', size: 5, linkname: '', devmajor: 0, devminor: 0, xattrs: new Map([['user.k', Buffer.from('v')]]) }, 'data2')
    assert.equal(await createContentHasher(root, { mode: 'snapshot' }).checksum('fox'), withX)
    if (isRoot) {
      chownSync(join(root, 'foo'), 1000, 1000)
      assert.notEqual(await createContentHasher(root, { mode: 'snapshot' }).checksum('foo'), DATA0)
      assert.equal(await createContentHasher(root, { mode: 'context' }).checksum('foo'), DATA0)
    }
  })

  it('context mode fakes the root header and leaves excluded entries out', async () => {
    const root = dir()
    materialize(root, base)
    const ctxRoot: EntrySpec = { path: '/', type: 'dir', mode: 0o755, headerDigest: EMPTY_DIGEST }
    const without = (...paths: string[]) => [ctxRoot, ...base.slice(1).filter((e) => !paths.includes(e.path))]
    const h = createContentHasher(root, { mode: 'context', exclude: (p) => p === 'fox' || p === 'd' })
    assert.equal(await h.checksum('/'), await checksumEntries(without('/fox', '/d', '/d/a', '/d/keep'), '/'))
    const f = createContentHasher(root, { mode: 'context', filter: createPatternFilter({ excludePatterns: ['d', '!d/keep', 'fo?'] }) })
    assert.equal(await f.checksum('/'), await checksumEntries(without('/foo', '/fox', '/d/a'), '/'))
    const inc = createContentHasher(root, { mode: 'context', filter: createPatternFilter({ includePatterns: ['d/a'] }) })
    assert.equal(await inc.checksum('/'), await checksumEntries(without('/foo', '/fox', '/d/keep'), '/'))
  })

  it('lists directories only when a query needs them', async () => {
    const root = dir()
    materialize(root, base)
    const h = createContentHasher(root, { mode: 'snapshot' })
    assert.equal(await h.checksum('foo'), DATA0)
    rmSync(join(root, 'd'), { recursive: true })
    await assert.rejects(h.checksum('d'), { code: 'ENOENT' })
  })

  it('a memo serves unchanged files without reading them', async () => {
    const root = dir()
    materialize(root, base)
    const seen = new Map<string, Digest>()
    let hits = 0
    const key = (id: FileIdentity) => `${id.flavor}:${id.dev}:${id.ino}:${id.ctimeNs}`
    const memo: HashMemo = {
      get: (id) => {
        const d = seen.get(key(id))
        if (d !== undefined) hits++
        return d
      },
      put: (id, d) => void seen.set(key(id), d),
    }
    const first = await createContentHasher(root, { mode: 'snapshot', memo }).checksum('/')
    assert.equal(hits, 0)
    assert.equal(await createContentHasher(root, { mode: 'snapshot', memo }).checksum('/'), first)
    assert.equal(hits, base.length)
    writeFileSync(join(root, 'foo'), 'data1')
    assert.notEqual(await createContentHasher(root, { mode: 'snapshot', memo }).checksum('foo'), DATA0)
  })

  it('createFileHashMemo loads once, skips racy entries and saves atomically', async () => {
    const path = `${dir()}-memo.json`
    const id: FileIdentity = { flavor: 'context', dev: 1n, ino: 2n, size: 3n, mtimeNs: 4n, ctimeNs: 5n, mode: 0o100644, uid: 0, gid: 0 }
    const m1 = await createFileHashMemo(path)
    m1.put(id, DATA0)
    m1.put({ ...id, ino: 9n, ctimeNs: BigInt(Date.now()) * 1_000_000n }, DATA0) // too recent: ignored
    assert.equal(m1.size, 1)
    await m1.save()
    const m2 = await createFileHashMemo(path)
    assert.equal(m2.get(id), DATA0)
    assert.equal(m2.get({ ...id, flavor: 'snapshot' }), undefined)
    assert.equal(m2.get({ ...id, ctimeNs: 6n }), undefined)
    writeFileSync(path, '{broken')
    assert.equal((await createFileHashMemo(path)).size, 0)
  })
})

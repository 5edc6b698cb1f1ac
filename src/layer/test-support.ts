/**
 * Test fixtures for src/layer tests (imported only by *.test.ts): a tree with every entry
 * kind a layer must carry, and a tree comparison on lstat/xattr/content level.
 */
import assert from 'node:assert/strict'
import { execFile } from 'node:child_process'
import { createHash } from 'node:crypto'
import { chmod, chown, link, lstat, mkdir, mkdtemp, readdir, readFile, readlink, rm, symlink, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { getAttributeSync, listAttributesSync, setAttributeSync } from '@napi-rs/xattr'

export const run = promisify(execFile)
export const isRoot = process.getuid?.() === 0
export const BIN_XATTR = Buffer.from('00ff80c3a9', 'hex')
export const LONG_PATH = `${'d'.repeat(100)}/${'e'.repeat(80)}/${'f'.repeat(68)}` // 250 chars

export async function tempDir(prefix: string): Promise<string> {
  return mkdtemp(join(tmpdir(), `cairn-layer-${prefix}-`))
}

export async function cleanup(...dirs: string[]): Promise<void> {
  for (const d of dirs) await rm(d, { recursive: true, force: true })
}

/** Builds the round-trip fixture tree in `dir` (needs root for chown/mkfifo is fine unprivileged). */
export async function makeTree(dir: string): Promise<void> {
  await mkdir(join(dir, 'etc/nested/deeper'), { recursive: true })
  await writeFile(join(dir, 'etc/passwd'), 'root:x:0:0:root:/root:/bin/sh\n')
  await writeFile(join(dir, 'etc/empty'), '')
  await writeFile(join(dir, 'etc/nested/deeper/data.bin'), createHash('sha512').update('seed').digest())
  await writeFile(join(dir, 'big.bin'), Buffer.alloc(3 * 1024 * 1024 + 17, 7))
  await symlink('../passwd', join(dir, 'etc/nested/link-to-passwd'))
  await symlink('/does/not/exist', join(dir, 'dangling'))
  await symlink(`${'t'.repeat(150)}/target`, join(dir, 'long-link'))
  await link(join(dir, 'etc/passwd'), join(dir, 'etc/passwd.hard'))
  await mkdir(join(dir, LONG_PATH.split('/').slice(0, 2).join('/')), { recursive: true })
  await writeFile(join(dir, LONG_PATH), 'long path\n')
  await writeFile(join(dir, 'ünïcødé-名前.txt'), 'utf8\n')
  await writeFile(join(dir, 'suid'), '#!/bin/sh\n')
  await chmod(join(dir, 'suid'), 0o4755)
  await writeFile(join(dir, 'bigids'), 'ids\n')
  await chown(join(dir, 'bigids'), 300000, 700000)
  await writeFile(join(dir, 'hugeids'), 'ids\n')
  await chown(join(dir, 'hugeids'), 5000000, 4000000000) // > 2097151: PAX / GNU base-256
  await writeFile(join(dir, 'xattr-file'), 'x\n')
  setAttributeSync(join(dir, 'xattr-file'), 'user.bin', BIN_XATTR)
  setAttributeSync(join(dir, 'etc'), 'user.dirattr', 'v')
  await run('mkfifo', [join(dir, 'fifo')])
  await mkdir(join(dir, 'emptydir'))
  await chmod(join(dir, 'emptydir'), 0o1777)
}

async function sha(path: string): Promise<string> {
  return createHash('sha256')
    .update(await readFile(path))
    .digest('hex')
}

export interface NodeInfo {
  type: string
  mode: number
  uid: number
  gid: number
  size: number
  content?: string
  target?: string
  rdev?: number
  nlink?: number
  xattrs: Record<string, string>
}

/** A comparable description of every path below `dir` (overlay xattrs left out). */
export async function describeTree(dir: string, opts: { mtime?: boolean } = {}): Promise<Map<string, NodeInfo & { mtime?: number }>> {
  const out = new Map<string, NodeInfo & { mtime?: number }>()
  const visit = async (rel: string): Promise<void> => {
    for (const name of (await readdir(rel === '' ? dir : join(dir, rel))).sort()) {
      const r = rel === '' ? name : `${rel}/${name}`
      const abs = join(dir, r)
      const st = await lstat(abs)
      const type = st.isDirectory()
        ? 'dir'
        : st.isFile()
          ? 'file'
          : st.isSymbolicLink()
            ? 'symlink'
            : st.isFIFO()
              ? 'fifo'
              : st.isCharacterDevice()
                ? 'chr'
                : 'other'
      const xattrs: Record<string, string> = {}
      for (const n of listAttributesSync(abs).sort()) {
        if (!/^(trusted|user)\.overlay\./.test(n)) xattrs[n] = (getAttributeSync(abs, n) ?? Buffer.alloc(0)).toString('hex')
      }
      const info: NodeInfo & { mtime?: number } = { type, mode: st.mode & 0o7777, uid: st.uid, gid: st.gid, size: type === 'file' ? st.size : 0, xattrs }
      if (type === 'file') {
        info.content = await sha(abs)
        info.nlink = st.nlink
      }
      if (type === 'symlink') info.target = await readlink(abs)
      if (type === 'chr') info.rdev = st.rdev
      if (type === 'symlink') info.mode = 0
      if (opts.mtime === true && type !== 'symlink') info.mtime = Math.floor(st.mtimeMs / 1000)
      out.set(r, info)
      if (type === 'dir') await visit(r)
    }
  }
  await visit('')
  return out
}

export async function assertSameTree(a: string, b: string): Promise<void> {
  const [ta, tb] = [await describeTree(a), await describeTree(b)]
  assert.deepEqual([...tb.keys()], [...ta.keys()])
  for (const [k, v] of ta) assert.deepEqual(tb.get(k), v, `entry ${k}`)
  // and the classic check: content-level diff (fifos are reported but equal)
  const r = await run('diff', ['-r', '--no-dereference', a, b]).catch((e: { stdout: string }) => e)
  const lines = r.stdout.split('\n').filter((l) => l !== '' && !/is a fifo while file .* is a fifo/.test(l))
  assert.deepEqual(lines, [])
}

/** Concatenates an async iterable of chunks (Node 20 has no Array.fromAsync). */
export async function concatAll(src: AsyncIterable<Buffer | string>): Promise<Buffer> {
  const parts: Buffer[] = []
  for await (const c of src) parts.push(typeof c === 'string' ? Buffer.from(c) : c)
  return Buffer.concat(parts)
}

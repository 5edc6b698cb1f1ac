import { spawn } from 'node:child_process'
import { createReadStream } from 'node:fs'
import { open } from 'node:fs/promises'
import { PassThrough, pipeline as pipeStreams, type Readable } from 'node:stream'
import { pipeline } from 'node:stream/promises'
import { CairnError } from '../../core/errors.ts'
import { applyLayer } from '../../layer/apply.ts'
import { decompressStream } from '../../layer/compress.ts'
import { checksumOk } from '../../layer/tar-decode.ts'

export type ArchiveKind = 'tar' | 'gzip' | 'zstd' | 'bzip2' | 'xz'

async function head(path: string, n: number): Promise<Buffer> {
  const fh = await open(path, 'r')
  try {
    const b = Buffer.alloc(n)
    const { bytesRead } = await fh.read(b, 0, n, 0)
    return b.subarray(0, bytesRead)
  } finally {
    await fh.close()
  }
}

const starts = (b: Buffer, magic: number[]) => b.length >= magic.length && magic.every((x, i) => b[i] === x)

function compressionOf(b: Buffer): ArchiveKind {
  if (starts(b, [0x1f, 0x8b])) return 'gzip'
  if (starts(b, [0x28, 0xb5, 0x2f, 0xfd])) return 'zstd'
  if (starts(b, [0x42, 0x5a, 0x68])) return 'bzip2'
  if (starts(b, [0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00])) return 'xz'
  return 'tar'
}

const isTarHeader = (block: Buffer) => block.length >= 512 && checksumOk(block.subarray(0, 512))

/** The decompressed bytes of an archive file (bzip2 and xz through the system's decompressors). */
export function decompressed(path: string, kind: ArchiveKind, signal: AbortSignal): { stream: Readable; done: Promise<void> } {
  if (kind === 'bzip2' || kind === 'xz') {
    const child = spawn(kind, ['-dc', path], { stdio: ['ignore', 'pipe', 'pipe'], signal })
    const err: Buffer[] = []
    child.stderr.on('data', (b: Buffer) => err.push(b))
    const done = new Promise<void>((resolve, reject) => {
      child.on('error', (e: NodeJS.ErrnoException) =>
        reject(
          e.code === 'ENOENT'
            ? new CairnError('ERR_MISSING_PROGRAM', `${kind}: program not found (needed to unpack ${path})`, {
                hint: `install it (Debian: apt-get install -y ${kind === 'xz' ? 'xz-utils' : 'bzip2'})`,
              })
            : e,
        ),
      )
      child.on('close', (code) =>
        code === 0 ? resolve() : reject(new CairnError('ERR_UNPACK_FAILED', `${kind} -dc: exit ${code}: ${Buffer.concat(err).toString().trim()}`)),
      )
    })
    // Read from the start: once a child exits, node resumes any of its output streams nobody has read
    // yet, which drops what they hold. A small archive is decompressed before the consumer's first
    // read, and it then got an empty archive (an ADD that extracted nothing, 1 time in 30).
    const out = new PassThrough({ highWaterMark: 1 << 20 })
    pipeStreams(child.stdout, out, () => {}) // a failure shows in `done` (the exit code); destroying `out` stops the child
    return { stream: out, done }
  }
  const d = decompressStream()
  const done = pipeline(createReadStream(path), d, { signal })
  return { stream: d, done }
}

/** True when the file is a tar archive, plain or compressed (gzip, bzip2, xz, zstd), as Docker's ADD detects them. */
export async function isArchive(path: string, signal: AbortSignal): Promise<boolean> {
  const b = await head(path, 512)
  const kind = compressionOf(b)
  if (kind === 'tar') return isTarHeader(b)
  const { stream, done } = decompressed(path, kind, signal)
  let failure: unknown
  done.catch((err: unknown) => {
    failure = err
  })
  const parts: Buffer[] = []
  let n = 0
  try {
    for await (const chunk of stream) {
      parts.push(chunk as Buffer)
      n += (chunk as Buffer).length
      if (n >= 512) break
    }
  } catch {
    return false
  } finally {
    stream.destroy()
  }
  if (n < 512) {
    await done.catch(() => {})
    // a decompressor that could not run is an error, not "not an archive"
    if (failure instanceof CairnError && failure.code === 'ERR_MISSING_PROGRAM') throw failure
    if ((failure as NodeJS.ErrnoException | undefined)?.syscall?.startsWith('spawn')) throw failure
  }
  return isTarHeader(Buffer.concat(parts))
}

/**
 * Extracts an archive into `destDir` (which must exist). Entries are confined to `destDir`: an
 * absolute name or `..` cannot write outside it, and symlinks are never followed out of it.
 */
export async function extractArchive(path: string, destDir: string, signal: AbortSignal): Promise<void> {
  const kind = compressionOf(await head(path, 8))
  const { stream, done } = decompressed(path, kind, signal)
  await Promise.all([applyLayer(stream, destDir, { mode: 'plain', signal }), done])
}

import { type ChildProcess, spawn } from 'node:child_process'
import { mkdtemp, rm } from 'node:fs/promises'
import { createRequire } from 'node:module'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createInterface } from 'node:readline'

/** A running s3rver: path-style endpoint, its fixed credentials, one bucket. */
export interface S3rverHandle {
  endpoint: string
  region: string
  bucket: string
  accessKeyId: string
  secretAccessKey: string
  /** The storage directory (objects are files below `<dir>/<bucket>/`). */
  dir: string
  /** The server process id (for RSS isolation: its memory is not the test's). */
  pid: number
  stop(): Promise<void>
}

// Runs inside the child: start s3rver on port 0, print the port, stop on SIGTERM.
// s3rver writes an object file in place (truncate, then stream), so a GET racing a PUT of the same
// key can see a torn object; real S3 makes a PUT visible atomically. The wrapper below serialises
// each key's object reads (until the response body closes) and writes, restoring S3's semantics.
const CHILD = `
const path = require('path')
const S3rver = require(process.env.S3RVER_MODULE)
const Store = require(path.join(path.dirname(process.env.S3RVER_MODULE), 'stores', 'filesystem.js'))
const tails = new Map()
function lock(k) {
  const prev = tails.get(k) || Promise.resolve()
  let release
  const mine = new Promise((r) => { release = r })
  const tail = prev.then(() => mine)
  tails.set(k, tail)
  tail.then(() => { if (tails.get(k) === tail) tails.delete(k) })
  return prev.then(() => release)
}
for (const m of ['putObject', 'copyObject', 'deleteObject']) {
  const orig = Store.prototype[m]
  Store.prototype[m] = async function (...a) {
    const k = m === 'putObject' ? a[0].bucket + '/' + a[0].key : m === 'copyObject' ? a[2] + '/' + a[3] : a[0] + '/' + a[1]
    const release = await lock(k)
    try { return await orig.apply(this, a) } finally { release() }
  }
}
const getObject = Store.prototype.getObject
Store.prototype.getObject = async function (bucket, key, options) {
  const release = await lock(bucket + '/' + key)
  let obj
  try { obj = await getObject.call(this, bucket, key, options) } catch (e) { release(); throw e }
  if (obj && obj.content && typeof obj.content.once === 'function') obj.content.once('close', release)
  else release()
  return obj
}
const server = new S3rver({ address: '127.0.0.1', port: 0, directory: process.env.S3RVER_DIR, silent: true,
  allowMismatchedSignatures: false, vhostBuckets: false, configureBuckets: [{ name: process.env.S3RVER_BUCKET }] })
server.run().then((addr) => { process.stdout.write(JSON.stringify({ port: addr.port }) + '\\n') },
  (e) => { process.stderr.write(String(e && e.stack || e) + '\\n'); process.exit(1) })
process.on('SIGTERM', () => { server.close().finally(() => process.exit(0)) })
`

/**
 * Starts s3rver 3.7.1 on 127.0.0.1 with a free port and a fresh temp directory, with one bucket.
 * It runs in a child process started with `node --openssl-legacy-provider`: s3rver encrypts
 * ListObjectsV2 continuation tokens with DES, which OpenSSL 3 only offers through the legacy
 * provider, and that provider can only be enabled by a process flag. A separate process also keeps
 * the server's memory out of the test's RSS measurements.
 */
export async function startS3rver(opts: { bucket?: string } = {}): Promise<S3rverHandle> {
  const bucket = opts.bucket ?? 'cairn-cache'
  const dir = await mkdtemp(join(tmpdir(), 'cairn-s3rver-'))
  const require = createRequire(import.meta.url)
  const child = spawn(process.execPath, ['--openssl-legacy-provider', '-e', CHILD], {
    env: { PATH: process.env.PATH ?? '', S3RVER_MODULE: require.resolve('s3rver'), S3RVER_DIR: dir, S3RVER_BUCKET: bucket },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  let stderr = ''
  child.stderr?.on('data', (b: Buffer) => {
    stderr = (stderr + b.toString()).slice(-4000)
  })
  try {
    const port = await new Promise<number>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`s3rver did not start within 20 s: ${stderr}`)), 20_000)
      const lines = createInterface({ input: child.stdout! })
      lines.once('line', (l) => {
        clearTimeout(timer)
        try {
          resolve((JSON.parse(l) as { port: number }).port)
        } catch {
          reject(new Error(`s3rver printed ${l}`))
        }
      })
      child.once('exit', (code) => {
        clearTimeout(timer)
        reject(new Error(`s3rver exited with ${code}: ${stderr}`))
      })
    })
    return {
      endpoint: `http://127.0.0.1:${port}`,
      region: 'us-east-1',
      bucket,
      accessKeyId: 'S3RVER',
      secretAccessKey: 'S3RVER',
      dir,
      pid: child.pid ?? 0,
      stop: async () => {
        await stopChild(child)
        await rm(dir, { recursive: true, force: true })
      },
    }
  } catch (e) {
    await stopChild(child)
    await rm(dir, { recursive: true, force: true })
    throw e
  }
}

/** SIGTERM, then SIGKILL after 5 s; resolves when the process has exited. */
export async function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return
  const exited = new Promise<void>((r) => child.once('exit', () => r()))
  child.kill('SIGTERM')
  const t = setTimeout(() => child.kill('SIGKILL'), 5000)
  await exited
  clearTimeout(t)
}

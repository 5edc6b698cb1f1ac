import { spawn } from 'node:child_process'
import { createRequire } from 'node:module'
import { dirname, join } from 'node:path'
import { createInterface } from 'node:readline'
import { stopChild } from './s3.ts'

/** A running Azurite blob service (path-style account URL) with the well-known dev account. */
export interface AzuriteHandle {
  /** `http://127.0.0.1:<port>/devstoreaccount1` */
  accountUrl: string
  accountName: string
  accountKey: string
  connectionString: string
  pid: number
  stop(): Promise<void>
}

const ACCOUNT = 'devstoreaccount1'
/** Azurite's built-in dev account key (public, documented by Microsoft). */
const DEV_KEY = 'Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=='

/**
 * Starts the Azurite blob server (from node_modules) in a child process on 127.0.0.1 with a port
 * chosen by the OS (`--blobPort 0`; the real port is read from its "successfully listens" line),
 * in-memory storage, no telemetry (it would try to reach the internet), any API version accepted.
 */
export async function startAzurite(): Promise<AzuriteHandle> {
  const require = createRequire(import.meta.url)
  const main = join(dirname(require.resolve('azurite/package.json')), 'dist/src/blob/main.js')
  const child = spawn(
    process.execPath,
    [main, '--blobHost', '127.0.0.1', '--blobPort', '0', '--inMemoryPersistence', '--extentMemoryLimit', '1024', '--disableTelemetry', '--skipApiVersionCheck'],
    { env: { PATH: process.env.PATH ?? '' }, stdio: ['ignore', 'pipe', 'pipe'] },
  )
  let output = ''
  child.stderr?.on('data', (b: Buffer) => {
    output = (output + b.toString()).slice(-4000)
  })
  try {
    const port = await new Promise<number>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`azurite did not start within 30 s: ${output}`)), 30_000)
      const lines = createInterface({ input: child.stdout! })
      lines.on('line', (l) => {
        output = `${output}${l}\n`.slice(-4000)
        const m = /successfully listens on https?:\/\/[^:]+:(\d+)/.exec(l)
        if (m) {
          clearTimeout(timer)
          resolve(Number(m[1]))
        }
      })
      child.once('exit', (code) => {
        clearTimeout(timer)
        reject(new Error(`azurite exited with ${code}: ${output}`))
      })
    })
    const accountUrl = `http://127.0.0.1:${port}/${ACCOUNT}`
    return {
      accountUrl,
      accountName: ACCOUNT,
      accountKey: DEV_KEY,
      connectionString: `DefaultEndpointsProtocol=http;AccountName=${ACCOUNT};AccountKey=${DEV_KEY};BlobEndpoint=${accountUrl};`,
      pid: child.pid ?? 0,
      stop: () => stopChild(child),
    }
  } catch (e) {
    await stopChild(child)
    throw e
  }
}

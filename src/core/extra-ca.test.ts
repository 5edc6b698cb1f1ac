import assert from 'node:assert/strict'
import { execFile, execFileSync } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { createServer, type Server } from 'node:https'
import type { AddressInfo } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, describe, it } from 'node:test'
import { splitPem } from './extra-ca.ts'

const hasOpenssl = (() => {
  try {
    execFileSync('openssl', ['version'], { stdio: 'ignore' })
    return true
  } catch {
    return false
  }
})()

describe('CAIRN_EXTRA_CA_CERTS (NODE_EXTRA_CA_CERTS taken over by bin/cairn)', { skip: hasOpenssl ? false : 'needs openssl to make a certificate (apt-get install -y openssl)' }, () => {
  const dir = mkdtempSync(join(tmpdir(), 'cairn-extra-ca-'))
  const cert = join(dir, 'cert.pem')
  let server: Server
  let url = ''
  before(async () => {
    execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', join(dir, 'key.pem'), '-out', cert, '-days', '1', '-subj', '/CN=cairn-test', '-addext', 'subjectAltName=IP:127.0.0.1'], { stdio: 'ignore' })
    server = createServer({ key: readFileSync(join(dir, 'key.pem')), cert: readFileSync(cert) }, (_req, res) => res.end('trusted'))
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
    url = `https://127.0.0.1:${(server.address() as AddressInfo).port}/`
  })
  after(() => {
    server?.close()
    rmSync(dir, { recursive: true, force: true })
  })

  /** fetch() from a fresh node with the given environment, after adoptExtraCaCerts. */
  const client = (env: NodeJS.ProcessEnv): Promise<string> => {
    const script = `import { adoptExtraCaCerts } from ${JSON.stringify(new URL('./extra-ca.ts', import.meta.url).href)}
const env = { ...process.env }
adoptExtraCaCerts(env)
try { const r = await fetch(${JSON.stringify(url)}); console.log(await r.text(), env.NODE_EXTRA_CA_CERTS ?? '-') } catch (e) { console.log('failed', e.cause?.code ?? e.message) }`
    return new Promise((resolve, reject) => {
      const { NODE_EXTRA_CA_CERTS: _, CAIRN_EXTRA_CA_CERTS: __, ...base } = process.env
      execFile(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { env: { ...base, ...env } }, (err, stdout) => (err ? reject(err) : resolve(stdout.trim())))
    })
  }

  it('a server signed by the extra CA is not trusted without it', async () => {
    assert.match(await client({}), /^failed /)
  })
  it('is trusted with it, and NODE_EXTRA_CA_CERTS is put back for child processes', async () => {
    assert.equal(await client({ CAIRN_EXTRA_CA_CERTS: cert }), `trusted ${cert}`)
  })
  it('an unreadable bundle adds nothing and breaks nothing', async () => {
    assert.match(await client({ CAIRN_EXTRA_CA_CERTS: join(dir, 'missing.pem') }), /^failed /)
  })
  it('splits a PEM bundle into certificates', () => {
    const pem = readFileSync(cert, 'utf8')
    assert.equal(splitPem(`junk\n${pem}\n${pem}`).length, 2)
    assert.equal(splitPem('nothing here').length, 0)
  })
})

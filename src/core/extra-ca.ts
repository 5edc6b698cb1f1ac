/**
 * NODE_EXTRA_CA_CERTS without its startup cost. Node 20 parses the whole extra CA bundle while it
 * starts (≈40 ms for Debian's ca-certificates.crt on a 2-core VM, a third of a no-op build), even
 * for a run that opens no TLS connection. `bin/cairn` therefore moves the variable to
 * CAIRN_EXTRA_CA_CERTS before starting node, and this module honours it the way node would: every
 * TLS context created without an explicit `ca` (fetch, https, the cloud SDKs) trusts node's root
 * certificates plus the extra ones. The file is read on the first TLS connection, not before.
 */
import { readFileSync } from 'node:fs'
import tls, { type SecureContextOptions } from 'node:tls'

const PEM = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g

let installed = false

/** Certificates of a PEM bundle. */
export function splitPem(text: string): string[] {
  return text.match(PEM) ?? []
}

/**
 * Installs the extra CA certificates named by CAIRN_EXTRA_CA_CERTS, and puts NODE_EXTRA_CA_CERTS
 * back into `env` for the processes cairn starts. An unreadable file is ignored, as node does
 * (node prints a warning; cairn's TLS errors then name the certificate problem).
 */
export function adoptExtraCaCerts(env: NodeJS.ProcessEnv): void {
  const file = env.CAIRN_EXTRA_CA_CERTS
  if (!file || installed) return
  installed = true
  env.NODE_EXTRA_CA_CERTS = file
  let ca: string[] | undefined
  const original = tls.createSecureContext
  tls.createSecureContext = (options?: SecureContextOptions) => {
    if (options?.ca !== undefined) return original(options)
    if (ca === undefined) {
      let extra: string[] = []
      try {
        extra = splitPem(readFileSync(file, 'utf8'))
      } catch {
        // as node: an unreadable bundle adds nothing
      }
      ca = [...tls.rootCertificates, ...extra]
    }
    return original({ ...options, ca })
  }
}

import type { Platform } from '../core/descriptor.ts'

const ARCH: Record<string, string> = { x64: 'amd64', arm64: 'arm64', arm: 'arm', ia32: '386', ppc64: 'ppc64le', s390x: 's390x', riscv64: 'riscv64' }

/** The platform cairn builds for: the machine's own. */
export function nativePlatform(): Platform {
  const architecture = ARCH[process.arch] ?? process.arch
  return architecture === 'arm' ? { os: 'linux', architecture, variant: 'v7' } : { os: 'linux', architecture }
}

export function formatPlatform(p: Platform): string {
  return `${p.os}/${p.architecture}${p.variant ? `/${p.variant}` : ''}`
}

export function platformMatches(want: Platform, have: Platform | undefined): boolean {
  if (!have) return false
  if (have.os !== want.os || have.architecture !== want.architecture) return false
  if (want.variant && have.variant && want.variant !== have.variant) return false
  return true
}

import type { Platform } from '../../core/descriptor.ts'

/**
 * BuildKit's predefined platform ARGs, in its order. cairn builds natively only, so the build
 * platform is the target platform. They are in the global scope from the start, and a stage sees
 * one after `ARG <NAME>` (without a value).
 */
export function platformArgs(p: Platform): Map<string, string> {
  const spec = `${p.os}/${p.architecture}${p.variant ? `/${p.variant}` : ''}`
  const variant = p.variant ?? ''
  return new Map([
    ['BUILDPLATFORM', spec],
    ['BUILDOS', p.os],
    ['BUILDARCH', p.architecture],
    ['BUILDVARIANT', variant],
    ['TARGETPLATFORM', spec],
    ['TARGETOS', p.os],
    ['TARGETARCH', p.architecture],
    ['TARGETVARIANT', variant],
  ])
}

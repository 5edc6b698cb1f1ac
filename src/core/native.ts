import { createRequire } from 'node:module'

/**
 * Native addons, loaded on first use rather than at startup (a no-op rebuild needs neither, and
 * loading them costs tens of milliseconds).
 */
const require = createRequire(import.meta.url)

type Xattr = typeof import('@napi-rs/xattr')
type Zstd = typeof import('zstd-napi')

let xattrMod: Xattr | undefined
let zstdMod: Zstd | undefined

export function xattr(): Xattr {
  xattrMod ??= require('@napi-rs/xattr') as Xattr
  return xattrMod
}

export function zstd(): Zstd {
  zstdMod ??= require('zstd-napi') as Zstd
  return zstdMod
}

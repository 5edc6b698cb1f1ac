import type { Digest } from './digest.ts'

/** An OCI content descriptor. */
export interface Descriptor {
  mediaType: string
  digest: Digest
  size: number
  annotations?: Record<string, string>
  platform?: Platform
  urls?: string[]
}

export interface Platform {
  architecture: string
  os: string
  variant?: string
  'os.version'?: string
  'os.features'?: string[]
}

/** Parsed and resolved `--cache-to` / `--cache-from` entries, one shape per backend type. */
import type { Digest } from '../../core/digest.ts'

export const CACHE_TYPES = ['local', 'registry', 'inline', 'gha', 's3', 'azblob'] as const
export type CacheType = (typeof CACHE_TYPES)[number]
export type CacheDirection = 'export' | 'import'
export type CacheMode = 'min' | 'max'
export type CacheCompression = 'gzip' | 'zstd' | 'uncompressed'

/** The injected environment (never process.env): `$ACTIONS_RUNTIME_TOKEN`, `$AWS_*`, … */
export type CacheSpecEnv = Readonly<Record<string, string | undefined>>

interface SpecBase {
  /**
   * Every attribute as the backend sees it: what the user gave (keys lower-cased) plus values filled
   * in from the environment. May hold secrets: pass through redactSpec before printing.
   */
  attrs: Readonly<Record<string, string>>
  /** Known attributes that have no effect for this type/direction (to warn about). */
  ignoredAttrs: { name: string; reason: string }[]
}

export interface ExportOptions {
  mode: CacheMode
  ignoreError: boolean
}

export interface CompressionOptions {
  compression: CacheCompression
  compressionLevel: number | undefined
  forceCompression: boolean
}

export interface WrapperOptions {
  ociMediaTypes: boolean
  imageManifest: boolean
}

export interface ResolvedLocalExport extends SpecBase, ExportOptions, CompressionOptions, WrapperOptions {
  type: 'local'
  dest: string
  tag: string
  reset: boolean
}
export interface ResolvedLocalImport extends SpecBase {
  type: 'local'
  src: string
  tag: string
  digest: Digest | undefined
}
export interface ResolvedRegistryExport extends SpecBase, ExportOptions, CompressionOptions, WrapperOptions {
  type: 'registry'
  /** Normalised (`foo` → `docker.io/library/foo:latest`). */
  ref: string
  insecure: boolean
}
export interface ResolvedRegistryImport extends SpecBase {
  type: 'registry'
  ref: string
  insecure: boolean
}
export interface ResolvedInlineExport extends SpecBase {
  type: 'inline'
}

interface GhaCommon {
  type: 'gha'
  scope: string
  token: string
  url: string | undefined
  urlV2: string | undefined
  /** The protocol chosen by BuildKit's getConfig rules, and its base URL. */
  apiVersion: 1 | 2
  baseUrl: string
  timeoutMs: number
}
export interface ResolvedGhaExport extends SpecBase, ExportOptions, GhaCommon {
  repository: string | undefined
  ghToken: string | undefined
}
export interface ResolvedGhaImport extends SpecBase, GhaCommon {}

export interface S3Credentials {
  accessKeyId: string
  secretAccessKey: string
  sessionToken: string | undefined
}
interface S3Common {
  type: 's3'
  bucket: string
  region: string
  prefix: string
  blobsPrefix: string
  manifestsPrefix: string
  /** `name` split at `;` (import reads only the first, as BuildKit). */
  names: string[]
  endpointUrl: string | undefined
  usePathStyle: boolean
  /** Static credentials when both id and secret are known; otherwise the SDK default chain. */
  credentials: S3Credentials | undefined
  disableAcceptEncoding: boolean
  retryMode: 'standard' | 'adaptive' | undefined
  retryMaxAttempts: number | undefined
}
export interface ResolvedS3Export extends SpecBase, ExportOptions, S3Common {
  uploadParallelism: number
  touchRefreshMs: number
}
export interface ResolvedS3Import extends SpecBase, S3Common {}

interface AzblobCommon {
  type: 'azblob'
  accountUrl: string
  accountName: string
  container: string
  prefix: string
  blobsPrefix: string
  manifestsPrefix: string
  /** `name` split at `;` (import loads and merges all, as BuildKit). */
  names: string[]
  secretAccessKey: string | undefined
}
export interface ResolvedAzblobExport extends SpecBase, ExportOptions, AzblobCommon {}
export interface ResolvedAzblobImport extends SpecBase, AzblobCommon {}

export type CacheExportSpec = ResolvedLocalExport | ResolvedRegistryExport | ResolvedInlineExport | ResolvedGhaExport | ResolvedS3Export | ResolvedAzblobExport
export type CacheImportSpec = ResolvedLocalImport | ResolvedRegistryImport | ResolvedGhaImport | ResolvedS3Import | ResolvedAzblobImport
export type CacheSpec = CacheExportSpec | CacheImportSpec

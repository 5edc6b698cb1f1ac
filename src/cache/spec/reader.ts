/** Typed access to one entry's attributes, with errors that name the flag, type and attribute. */
import { InvalidArgumentError } from '../../core/errors.ts'
import { SECRET_ATTRS } from './attrs.ts'
import type { CacheCompression, CacheMode, CompressionOptions, ExportOptions, WrapperOptions } from './types.ts'
import { parseGoBool, parseGoDuration, parseInteger } from './values.ts'

export class AttrReader {
  readonly attrs: Record<string, string>
  readonly where: string
  constructor(attrs: Record<string, string>, where: string) {
    this.attrs = attrs
    this.where = where
  }
  what(name: string): string {
    return `${this.where}: ${name}`
  }
  get(name: string): string | undefined {
    const v = this.attrs[name]
    return v === undefined || v === '' ? undefined : v
  }
  required(name: string, hint: string): string {
    const v = this.get(name)
    if (v === undefined) throw new InvalidArgumentError(`${this.where}: ${name} is required`, { hint })
    return v
  }
  bool(name: string, dflt: boolean): boolean {
    const v = this.get(name)
    return v === undefined ? dflt : parseGoBool(v, this.what(name))
  }
  int(name: string, min: number, max?: number): number | undefined {
    const v = this.get(name)
    return v === undefined ? undefined : parseInteger(v, this.what(name), min, max)
  }
  durationMs(name: string, dflt: number): number {
    const v = this.get(name)
    return v === undefined ? dflt : parseGoDuration(v, this.what(name))
  }
  oneOf<T extends string>(name: string, values: readonly T[], dflt: T): T
  oneOf<T extends string>(name: string, values: readonly T[]): T | undefined
  oneOf<T extends string>(name: string, values: readonly T[], dflt?: T): T | undefined {
    const v = this.get(name)
    if (v === undefined) return dflt
    if (!(values as readonly string[]).includes(v)) {
      const shown = SECRET_ATTRS.has(name) ? '***' : JSON.stringify(v)
      throw new InvalidArgumentError(`${this.what(name)}: invalid value ${shown}`, { hint: `use one of: ${values.join(', ')}` })
    }
    return v as T
  }

  exportOptions(): ExportOptions {
    return { mode: this.oneOf<CacheMode>('mode', ['min', 'max'], 'min'), ignoreError: this.bool('ignore-error', false) }
  }

  compressionOptions(): CompressionOptions {
    const compression = this.oneOf<CacheCompression>('compression', ['gzip', 'zstd', 'uncompressed'], 'gzip')
    const max = compression === 'zstd' ? 22 : 9
    const compressionLevel = this.int('compression-level', 0, max)
    // BuildKit: an empty force-compression counts as true.
    const force = this.attrs['force-compression']
    const forceCompression = force === undefined ? false : force === '' ? true : parseGoBool(force, this.what('force-compression'))
    return { compression, compressionLevel, forceCompression }
  }

  /** BuildKit ≥ 0.22: image-manifest defaults to oci-mediatypes; image-manifest without OCI types is rejected. */
  wrapperOptions(): WrapperOptions {
    const ociMediaTypes = this.bool('oci-mediatypes', true)
    const imageManifest = this.bool('image-manifest', ociMediaTypes)
    if (imageManifest && !ociMediaTypes) {
      throw new InvalidArgumentError(`${this.where}: OCI mediatypes are required for image-manifest cache format`, {
        hint: 'drop oci-mediatypes=false, or add image-manifest=false',
      })
    }
    return { ociMediaTypes, imageManifest }
  }
}

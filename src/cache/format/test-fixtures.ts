/** Shared fixtures for the format tests: the reference §1.1 example graph and helpers. Test-only. */
import { readFileSync } from 'node:fs'
import type { Descriptor } from '../../core/descriptor.ts'
import type { Digest } from '../../core/digest.ts'
import { CacheGraphBuilder } from './builder.ts'
import type { CacheGraph } from './types.ts'

/** `sha256:<prefix>000…` (64 hex digits). */
export const D = (prefix: string): Digest => `sha256:${prefix.padEnd(64, '0')}` as Digest

export const GZ = 'application/vnd.oci.image.layer.v1.tar+gzip'
export const ZS = 'application/vnd.oci.image.layer.v1.tar+zstd'

export const golden = (name: string): string => readFileSync(new URL(`./testdata/${name}`, import.meta.url), 'utf8')

export const L1: Descriptor = {
  mediaType: GZ,
  digest: D('aa01'),
  size: 3401613,
  annotations: { 'containerd.io/uncompressed': D('bb01'), 'buildkit/createdat': '2025-03-01T10:00:00.5+01:00' },
}
export const L2: Descriptor = {
  mediaType: 'application/vnd.docker.image.rootfs.diff.tar.gzip', // normalised to OCI on export
  digest: D('aa02'),
  size: 812,
  annotations: { 'buildkit/createdat': '2025-03-02T08:15:31.123456789Z', 'containerd.io/uncompressed': D('bb02') },
}
export const L3: Descriptor = { mediaType: ZS, digest: D('aa03'), size: 5120, annotations: { 'containerd.io/uncompressed': D('bb03') } }

/**
 * The §1.1 example: r0 base-image root, r1 checksum root, r2 a RUN on r0 (result [L1, L2]), r3 a
 * COPY with input 0 from r2 and input 1 from r1 (result [L1, L2, L3]). `order` permutes insertion.
 */
export function exampleGraph(order: 'forward' | 'reverse' = 'forward'): CacheGraph {
  const b = new CacheGraphBuilder()
  const r1 = order === 'reverse' ? b.addRecord(D('ee01')) : undefined
  const r0 = b.addRecord(D('ee00'))
  const r1b = r1 ?? b.addRecord(D('ee01'))
  const r2 = b.addRecord(D('ee02'), [[{ record: r0 }]])
  const r3 = b.addRecord(D('ee03'), [[{ record: r2 }], [{ record: r1b }]])
  if (order === 'reverse') {
    b.addResult(r3, [L1, L2, L3], '2025-03-02T08:15:40.000Z')
    b.addResult(r2, [L1, L2], '2025-03-02T08:15:31.123456789Z')
  } else {
    b.addResult(r2, [L1, L2], '2025-03-02T08:15:31.123456789Z')
    b.addResult(r3, [L1, L2, L3], '2025-03-02T08:15:40Z')
  }
  return b.graph()
}

/** Fisher–Yates with a seeded PRNG, for determinism tests. */
export function shuffled<T>(xs: readonly T[], seed: number): T[] {
  const out = [...xs]
  let s = seed >>> 0
  for (let i = out.length - 1; i > 0; i--) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0
    const j = s % (i + 1)
    ;[out[i], out[j]] = [out[j] as T, out[i] as T]
  }
  return out
}

export const text = (b: Uint8Array): string => Buffer.from(b).toString('utf8')

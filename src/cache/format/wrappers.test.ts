import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import { sha256 } from '../../core/digest.ts'
import { FailedPreconditionError, InvalidArgumentError } from '../../core/errors.ts'
import { decodeCacheConfig } from './decode.ts'
import { encodeCacheConfig } from './encode.ts'
import { D, exampleGraph, GZ, golden, L1, text } from './test-fixtures.ts'
import { unwrap, wrapManifest, wrapperForm } from './wrappers.ts'

const enc = encodeCacheConfig(exampleGraph())
const fmt = (re: RegExp) => (e: unknown) => e instanceof FailedPreconditionError && re.test(e.message)

describe('wrapManifest', () => {
  const forms = [
    ['image-manifest (default)', {}, 'example.image-manifest.golden', 'application/vnd.oci.image.manifest.v1+json'],
    ['oci-index (image-manifest=false)', { imageManifest: false }, 'example.oci-index.golden', 'application/vnd.oci.image.index.v1+json'],
    [
      'docker manifest list (oci-mediatypes=false)',
      { ociMediaTypes: false },
      'example.docker-manifest-list.golden',
      'application/vnd.docker.distribution.manifest.list.v2+json',
    ],
  ] as const
  for (const [name, opts, file, mt] of forms) {
    test(`${name} matches its golden byte for byte`, () => {
      const w = wrapManifest(enc.configDescriptor, enc.layers, opts)
      assert.equal(text(w.bytes), golden(file))
      assert.equal(w.mediaType, mt)
      assert.deepEqual(w.descriptor, { mediaType: mt, digest: sha256(w.bytes), size: w.bytes.length })
    })
    test(`${name}: unwrap gives back the config descriptor and the annotated layers`, () => {
      const u = unwrap(Buffer.from(golden(file)), mt)
      assert.equal(u.mediaType, mt)
      assert.deepEqual(u.configDescriptor, enc.configDescriptor)
      assert.deepEqual(
        u.layers.map((l) => [l.digest, l.annotations?.['containerd.io/uncompressed']]),
        enc.layers.map((l) => [l.digest, l.annotations?.['containerd.io/uncompressed']]),
      )
      const g = decodeCacheConfig(enc.config, { descriptors: u.layers })
      assert.equal(g.records[3]?.results[0]?.chain.length, 3)
    })
  }

  test('form selection follows BuildKit ≥ 0.22 defaults; image-manifest without OCI types is rejected', () => {
    assert.equal(wrapperForm(), 'image-manifest')
    assert.equal(wrapperForm({ ociMediaTypes: true, imageManifest: false }), 'oci-index')
    assert.equal(wrapperForm({ ociMediaTypes: false }), 'docker-manifest-list')
    assert.throws(
      () => wrapperForm({ ociMediaTypes: false, imageManifest: true }),
      (e: unknown) => e instanceof InvalidArgumentError && /OCI mediatypes are required/.test(e.message),
    )
  })

  test('annotation values are escaped as Go does', () => {
    const w = wrapManifest(enc.configDescriptor, [{ ...L1, annotations: { ...L1.annotations, note: '<&>' } }])
    assert.match(text(w.bytes), /"note":"\\u003c\\u0026\\u003e"/)
    assert.equal(unwrap(w.bytes).layers[0]?.annotations?.note, '<&>')
  })
})

describe('unwrap', () => {
  const cfg = { mediaType: 'application/vnd.buildkit.cacheconfig.v0', digest: D('cc'), size: 10 }
  const lay = { mediaType: GZ, digest: D('aa01'), size: 1, annotations: { 'containerd.io/uncompressed': D('bb01') } }
  const b = (o: object): Uint8Array => Buffer.from(JSON.stringify(o))

  test('duplicate layer descriptors (same blob on two chains) are de-duplicated by digest', () => {
    const u = unwrap(b({ schemaVersion: 2, manifests: [lay, lay, cfg] }))
    assert.equal(u.layers.length, 1)
    assert.equal(u.kind, 'index')
    assert.equal(u.mediaType, 'application/vnd.docker.distribution.manifest.list.v2+json', 'no mediaType field: shape decides')
  })

  test('detects by content: config/layers → manifest, else index', () => {
    assert.equal(unwrap(b({ schemaVersion: 2, config: cfg, layers: [lay] })).kind, 'manifest')
    assert.equal(unwrap(b({ schemaVersion: 2, layers: [] })).kind, 'manifest')
    assert.equal(unwrap(b({ schemaVersion: 2, manifests: [cfg] })).kind, 'index')
  })

  test('inline path: no cache config descriptor', () => {
    const img = { mediaType: 'application/vnd.oci.image.config.v1+json', digest: D('1c'), size: 5 }
    const m = unwrap(b({ schemaVersion: 2, mediaType: 'application/vnd.oci.image.manifest.v1+json', config: img, layers: [lay] }))
    assert.equal(m.configDescriptor, undefined)
    assert.deepEqual(m.imageConfig, img)
    const child = { mediaType: 'application/vnd.oci.image.manifest.v1+json', digest: D('3f'), size: 9 }
    const i = unwrap(b({ schemaVersion: 2, manifests: [child] }))
    assert.equal(i.configDescriptor, undefined)
    assert.deepEqual(i.manifests, [child])
  })

  test('rejects ambiguous or contradictory documents', () => {
    assert.throws(() => unwrap(b({ manifests: [], layers: [] })), fmt(/ambiguous manifest and manifest list/))
    assert.throws(() => unwrap(b({ mediaType: 'application/vnd.oci.image.index.v1+json', config: cfg, layers: [] })), fmt(/does not match manifest contents/))
    assert.throws(() => unwrap(b({ mediaType: 'application/vnd.oci.image.manifest.v1+json', manifests: [cfg] })), fmt(/does not match manifest contents/))
    assert.throws(() => unwrap(b({ manifests: [cfg] }), 'application/vnd.oci.image.manifest.v1+json'), fmt(/the content is an index/))
    assert.throws(() => unwrap(Buffer.from('nope')), fmt(/not valid JSON/))
    assert.throws(() => unwrap(b({ manifests: [{ mediaType: GZ, digest: 'sha256:xyz', size: 1 }] })), fmt(/manifests\[0\]: invalid digest/))
    assert.throws(() => unwrap(b({ manifests: [{ mediaType: GZ, digest: D('aa'), size: -1 }] })), fmt(/invalid size -1/))
  })

  test('1 MiB limits: on the manifest bytes and on the declared config size', () => {
    const big = { ...cfg, size: (1 << 20) + 1 }
    assert.throws(
      () => unwrap(b({ schemaVersion: 2, config: big, layers: [] })),
      (e: unknown) => e instanceof FailedPreconditionError && e.code === 'ERR_CACHE_TOO_LARGE',
    )
    assert.equal(unwrap(b({ schemaVersion: 2, config: { ...cfg, size: 1 << 20 }, layers: [] })).configDescriptor?.size, 1 << 20)
    const huge = Buffer.from(JSON.stringify({ schemaVersion: 2, manifests: [cfg], pad: 'x'.repeat(1 << 20) }))
    assert.throws(() => unwrap(huge), /too large/)
  })
})

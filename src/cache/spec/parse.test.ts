import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import { InvalidArgumentError } from '../../core/errors.ts'
import { parseCacheSpec, parseCacheSpecs } from './parse.ts'
import { formatSpec, redactSpec } from './redact.ts'

const exp = (v: string, env = {}) => parseCacheSpec(v, 'export', { env })
const imp = (v: string, env = {}) => parseCacheSpec(v, 'import', { env })
const D = `sha256:${'ab'.repeat(32)}`

describe('parseCacheSpec: syntax', () => {
  test('shorthand: no "=" → one registry entry per CSV field, ref normalised', () => {
    const s = imp('user/app:cache,ghcr.io/o/r:main')
    assert.deepEqual(
      s.map((x) => [x.type, (x as { ref: string }).ref]),
      [
        ['registry', 'docker.io/user/app:cache'],
        ['registry', 'ghcr.io/o/r:main'],
      ],
    )
    assert.equal((exp('app')[0] as { ref: string }).ref, 'docker.io/library/app:latest')
  })

  test('quoting: a field with commas is wrapped in double quotes; keys are lower-cased; last key wins', () => {
    const [s] = exp('type=local,"dest=a,b",TAG=x,tag=y')
    assert.equal(s?.type, 'local')
    assert.equal((s as { dest: string }).dest, 'a,b')
    assert.equal((s as { tag: string }).tag, 'y')
    const [q] = exp('type=s3,bucket=b,region=r,"name=a;""b"""')
    assert.deepEqual((q as { names: string[] }).names, ['a', '"b"'])
  })

  const errors: [string, 'export' | 'import', string, RegExp, RegExp?][] = [
    ['missing type', 'export', 'dest=/x', /type required/],
    ['unknown type', 'export', 'type=ftp,url=x', /unknown cache type "ftp"/, /valid types: local, registry, inline, gha, s3, azblob/],
    [
      'unknown attribute, valid ones listed',
      'export',
      'type=local,dest=/x,destination=/y',
      /unknown attribute "destination"/,
      /valid attributes for type=local in --cache-to: dest, tag, reset, mode, ignore-error, merge, compression/,
    ],
    ['import lists import attributes', 'import', 'type=local,src=/x,bogus=1', /unknown attribute "bogus"/, /--cache-from: src, digest, tag$/],
    ['field without =', 'export', 'type=local,dest', /invalid field "dest"/],
    ['unterminated quote', 'export', 'type=local,"dest=a', /unterminated quote/],
    ['bad mode', 'export', 'type=registry,ref=a,mode=maximum', /mode: invalid value "maximum"/, /min, max/],
    ['bad compression', 'export', 'type=registry,ref=a,compression=brotli', /compression: invalid value "brotli"/, /gzip, zstd, uncompressed/],
    ['gzip level out of range', 'export', 'type=registry,ref=a,compression-level=10', /compression-level: 10 is out of range \(0–9\)/],
    ['zstd level out of range', 'export', 'type=registry,ref=a,compression=zstd,compression-level=23', /out of range \(0–22\)/],
    ['non-integer level', 'export', 'type=registry,ref=a,compression-level=fast', /invalid integer "fast"/],
    ['bad boolean', 'export', 'type=registry,ref=a,oci-mediatypes=yes', /oci-mediatypes: invalid boolean "yes"/],
    [
      'image-manifest without OCI types',
      'export',
      'type=registry,ref=a,oci-mediatypes=false,image-manifest=true',
      /OCI mediatypes are required for image-manifest/,
    ],
    ['local export without dest', 'export', 'type=local,tag=x', /dest is required/],
    ['local import without src', 'import', 'type=local', /src is required/],
    ['local empty tag', 'import', 'type=local,src=/x,tag=', /requires either explicit digest/],
    ['local bad digest', 'import', 'type=local,src=/x,digest=sha256:xyz', /invalid type=local.*digest|invalid .*digest "sha256:xyz"/],
    ['registry without ref', 'export', 'type=registry,mode=max', /ref is required/],
    ['registry bad ref', 'import', 'type=registry,ref=UPPER/Case', /invalid reference "UPPER\/Case"/],
    ['inline import', 'import', 'type=inline', /no inline cache importer/, /type=registry,ref=<image>/],
    ['inline attribute', 'export', 'type=inline,dest=x', /unknown attribute "dest"/, /type=inline in --cache-to: mode/],
    ['gha without token', 'export', 'type=gha,url=https://x/', /token is required/],
    ['gha without url', 'export', 'type=gha,token=t', /url or url_v2 is required/],
    ['gha bad version', 'export', 'type=gha,token=t,url=https://x/,version=two', /version: invalid integer/],
    ['gha bad timeout', 'import', 'type=gha,token=t,url=https://x/,timeout=10minutes', /timeout: invalid duration/],
    ['s3 without bucket', 'export', 'type=s3,region=r', /bucket is required/, /\$AWS_BUCKET/],
    ['s3 without region', 'export', 'type=s3,bucket=b', /region is required/],
    ['s3 upload_parallelism 0', 'export', 'type=s3,bucket=b,region=r,upload_parallelism=0', /upload_parallelism: 0 is out of range/],
    ['s3 retry_mode', 'export', 'type=s3,bucket=b,region=r,retry_mode=legacy', /retry_mode: invalid value/],
    ['azblob without account_url', 'export', 'type=azblob', /account_url is required/],
    ['azblob bad url', 'import', 'type=azblob,account_url=not a url', /invalid URL/],
  ]
  for (const [name, dir, value, re, hint] of errors) {
    test(`rejects: ${name}`, () => {
      assert.throws(
        () => (dir === 'export' ? exp(value) : imp(value)),
        (e: unknown) => e instanceof InvalidArgumentError && re.test(e.message) && (!hint || hint.test(e.hint ?? '')),
      )
    })
  }

  test('a secret never appears in an error message', () => {
    assert.throws(
      () => exp('type=s3,bucket=b,region=r,secret_access_key=TOPSECRET,upload_parallelism=x'),
      (e: unknown) => e instanceof InvalidArgumentError && !e.message.includes('TOPSECRET') && !(e.hint ?? '').includes('TOPSECRET'),
    )
  })
})

describe('parseCacheSpec: defaults per backend', () => {
  test('local export/import', () => {
    const [e] = exp('type=local,dest=/c')
    assert.deepEqual(
      { ...e, attrs: undefined },
      {
        type: 'local',
        attrs: undefined,
        ignoredAttrs: [],
        dest: '/c',
        tag: 'latest',
        reset: false,
        mode: 'min',
        ignoreError: false,
        compression: 'gzip',
        compressionLevel: undefined,
        forceCompression: false,
        ociMediaTypes: true,
        imageManifest: true,
      },
    )
    const [i] = imp(`type=local,src=/c,digest=${D}`)
    assert.deepEqual({ ...i, attrs: undefined }, { type: 'local', attrs: undefined, ignoredAttrs: [], src: '/c', tag: 'latest', digest: D })
  })

  test('registry: oci-mediatypes=false → Docker list (image-manifest follows); force-compression empty = true', () => {
    const [e] = exp('type=registry,ref=r.io/a:c,oci-mediatypes=false,mode=max,compression=zstd,compression-level=19,force-compression=,ignore-error=true')
    assert.equal(e?.type, 'registry')
    const r = e as Extract<typeof e, { type: 'registry' }> & { ociMediaTypes: boolean }
    assert.deepEqual([r.ociMediaTypes, (r as { imageManifest: boolean }).imageManifest, (r as { mode: string }).mode], [false, false, 'max'])
    assert.deepEqual(
      [
        (r as { compression: string }).compression,
        (r as { compressionLevel: number }).compressionLevel,
        (r as { forceCompression: boolean }).forceCompression,
        (r as { ignoreError: boolean }).ignoreError,
      ],
      ['zstd', 19, true, true],
    )
    const [i] = imp('type=registry,ref=r.io/a:c,registry.insecure=true')
    assert.deepEqual({ ...i, attrs: undefined }, { type: 'registry', attrs: undefined, ignoredAttrs: [], ref: 'r.io/a:c', insecure: true })
  })

  test('export-only attributes on --cache-from are accepted and reported as ignored (strings carry over)', () => {
    const [i] = imp('type=registry,ref=a:b,mode=max,compression=zstd')
    assert.deepEqual(
      i?.ignoredAttrs.map((x) => x.name),
      ['mode', 'compression'],
    )
    assert.match(i?.ignoredAttrs[0]?.reason ?? '', /only used by --cache-to/)
  })

  test('gha: env defaults, version selection', () => {
    const env = {
      ACTIONS_RUNTIME_TOKEN: 'jwt',
      ACTIONS_CACHE_URL: 'https://artifactcache.actions.githubusercontent.com/abc/',
      ACTIONS_RESULTS_URL: 'https://results-receiver.actions.githubusercontent.com/',
    }
    const [v1] = exp('type=gha', env)
    assert.deepEqual(
      [
        (v1 as { token: string }).token,
        (v1 as { apiVersion: number }).apiVersion,
        (v1 as { baseUrl: string }).baseUrl,
        (v1 as { scope: string }).scope,
        (v1 as { timeoutMs: number }).timeoutMs,
      ],
      ['jwt', 1, env.ACTIONS_CACHE_URL, 'buildkit', 600_000],
    )
    const [v2] = exp('type=gha,scope=img', { ...env, ACTIONS_CACHE_SERVICE_V2: 'true' })
    assert.deepEqual([(v2 as { apiVersion: number }).apiVersion, (v2 as { baseUrl: string }).baseUrl], [2, env.ACTIONS_RESULTS_URL])
    const [v2b] = imp('type=gha,version=2', env)
    assert.equal((v2b as { apiVersion: number }).apiVersion, 2)
    const [auto] = imp('type=gha', { ACTIONS_RUNTIME_TOKEN: 't', ACTIONS_RESULTS_URL: env.ACTIONS_RESULTS_URL })
    assert.deepEqual([(auto as { apiVersion: number }).apiVersion, (auto as { url: string }).url], [2, env.ACTIONS_RESULTS_URL])
    const [forced1] = imp('type=gha,version=1,url_v2=https://v2/', env)
    assert.equal((forced1 as { apiVersion: number }).apiVersion, 1)
    const [explicit] = exp('type=gha,token=mine,url=https://u/,timeout=1h30m,repository=o/r,ghtoken=ght', env)
    assert.deepEqual(
      [(explicit as { token: string }).token, (explicit as { timeoutMs: number }).timeoutMs, (explicit as { ghToken: string }).ghToken],
      ['mine', 5_400_000, 'ght'],
    )
  })

  test('gha: compression attributes are known but ignored', () => {
    const [e] = exp('type=gha,token=t,url=https://u/,compression=zstd')
    assert.match(e?.ignoredAttrs[0]?.reason ?? '', /always uses gzip/)
  })

  test('s3: defaults, $AWS_* credentials only when both id and secret are not given', () => {
    const env = { AWS_BUCKET: 'eb', AWS_REGION: 'eu-west-1', AWS_ACCESS_KEY_ID: 'AKIA', AWS_SECRET_ACCESS_KEY: 'sek', AWS_SESSION_TOKEN: 'st' }
    const [e] = exp('type=s3', env)
    const s = e as Extract<typeof e, { type: 's3' }> & Record<string, unknown>
    assert.deepEqual(
      [s.bucket, s.region, s.prefix, s.blobsPrefix, s.manifestsPrefix, s.names, s.uploadParallelism, s.touchRefreshMs, s.usePathStyle, s.credentials],
      ['eb', 'eu-west-1', '', 'blobs/', 'manifests/', ['buildkit'], 4, 86_400_000, false, { accessKeyId: 'AKIA', secretAccessKey: 'sek', sessionToken: 'st' }],
    )
    const [own] = imp('type=s3,bucket=b,region=r,access_key_id=X,secret_access_key=Y,name=a;b,endpoint_url=http://127.0.0.1:9000,use_path_style=true', env)
    const o = own as unknown as Record<string, unknown>
    assert.deepEqual(
      [o.credentials, o.names, o.usePathStyle, o.endpointUrl],
      [{ accessKeyId: 'X', secretAccessKey: 'Y', sessionToken: undefined }, ['a', 'b'], true, 'http://127.0.0.1:9000'],
    )
    const [none] = imp('type=s3,bucket=b,region=r')
    assert.equal((none as unknown as Record<string, unknown>).credentials, undefined)
    const [tr] = exp('type=s3,bucket=b,region=r,touch_refresh=1h,upload_parallelism=8')
    assert.deepEqual([(tr as unknown as Record<string, unknown>).touchRefreshMs, (tr as unknown as Record<string, unknown>).uploadParallelism], [3_600_000, 8])
  })

  test('azblob: defaults from $BUILDKIT_AZURE_STORAGE_* and the URL', () => {
    const [e] = imp('type=azblob,account_url=https://acct.blob.core.windows.net,name=x;y', {})
    const a = e as unknown as Record<string, unknown>
    assert.deepEqual(
      [a.accountName, a.container, a.prefix, a.blobsPrefix, a.manifestsPrefix, a.names],
      ['acct', 'buildkit-cache', '', 'blobs', 'manifests', ['x', 'y']],
    )
    const [f] = exp('type=azblob,secret_access_key=k', {
      BUILDKIT_AZURE_STORAGE_ACCOUNT_URL: 'http://127.0.0.1:10000/devstoreaccount1',
      BUILDKIT_AZURE_STORAGE_ACCOUNT_NAME: 'devstoreaccount1',
      BUILDKIT_AZURE_STORAGE_CONTAINER: 'c',
      BUILDKIT_AZURE_STORAGE_PREFIX: 'p',
    })
    const b = f as unknown as Record<string, unknown>
    assert.deepEqual(
      [b.accountUrl, b.accountName, b.container, b.prefix, b.secretAccessKey, b.mode],
      ['http://127.0.0.1:10000/devstoreaccount1', 'devstoreaccount1', 'c', 'p', 'k', 'min'],
    )
  })

  test('parseCacheSpecs drops exact duplicates', () => {
    const s = parseCacheSpecs(['a:b', 'type=registry,ref=a:b', 'type=registry,ref=a:c'], 'import')
    assert.equal(s.length, 2, 'the shorthand and the full form of the same ref are one entry')
    assert.equal(parseCacheSpecs(['type=local,src=/x', 'type=local,src=/x'], 'import').length, 1)
  })
})

describe('redactSpec / formatSpec', () => {
  test('masks tokens and keys in attrs and typed fields; the original is untouched', () => {
    const env = { ACTIONS_RUNTIME_TOKEN: 'jwt-secret', ACTIONS_CACHE_URL: 'https://u/' }
    const [g] = exp('type=gha,ghtoken=gh-secret', env)
    const r = redactSpec(g as NonNullable<typeof g>)
    const json = JSON.stringify(r)
    assert.ok(!json.includes('jwt-secret') && !json.includes('gh-secret'), json)
    assert.equal((r as { token: string }).token, '***')
    assert.equal((g as { token: string }).token, 'jwt-secret')
    const [s] = exp('type=s3,bucket=b,region=r,access_key_id=AKIA,secret_access_key=SEK,session_token=TOK')
    const text = JSON.stringify(redactSpec(s as NonNullable<typeof s>))
    for (const secret of ['AKIA', 'SEK', 'TOK']) assert.ok(!text.includes(secret), secret)
    assert.equal(formatSpec(s as NonNullable<typeof s>), 'type=s3,access_key_id=***,bucket=b,region=r,secret_access_key=***,session_token=***')
    const [a] = exp('type=azblob,account_url=https://a.blob.core.windows.net,secret_access_key=AZK')
    assert.ok(!JSON.stringify(redactSpec(a as NonNullable<typeof a>)).includes('AZK'))
    assert.equal(formatSpec(exp('type=local,"dest=a,b"')[0] as never), 'type=local,"dest=a,b"')
  })
})

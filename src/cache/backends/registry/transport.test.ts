import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { InvalidArgumentError, NotFoundError } from '../../../core/errors.ts'
import { MediaType } from '../../../oci/media-types.ts'
import type { RegistryClient, RegistryRepository } from '../../../registry/index.ts'
import { createRegistryTransport } from './transport.ts'

/** A registry that refuses every manifest the way ECR-like registries refuse unknown forms. */
function refusingClient(): RegistryClient {
  const repo = {
    registry: 'registry.example.com',
    repository: 'team/cache',
    putManifest: async () => {
      throw new InvalidArgumentError('registry.example.com/team/cache: put manifest buildcache: MANIFEST_INVALID: manifest invalid', { code: 'ERR_REGISTRY_MANIFEST_INVALID' })
    },
    getManifest: async () => {
      throw new NotFoundError('registry.example.com/team/cache: manifest buildcache not found')
    },
  } as unknown as RegistryRepository
  return { repo: () => repo }
}

describe('registry cache transport', () => {
  it('a refused cache manifest names the attribute to change', async () => {
    const t = createRegistryTransport(refusingClient(), 'registry.example.com/team/cache:buildcache')
    await assert.rejects(t.writeRef('buildcache', Buffer.from('{}'), MediaType.ociManifest), (err: InvalidArgumentError) => {
      assert.equal(err.code, 'ERR_CACHE_MANIFEST_REFUSED')
      assert.match(err.message, /MANIFEST_INVALID/)
      assert.match(err.hint ?? '', /image-manifest=false/)
      return true
    })
    await assert.rejects(t.writeRef('buildcache', Buffer.from('{}'), MediaType.ociIndex), (err: InvalidArgumentError) => /image-manifest=true/.test(err.hint ?? ''))
  })
  it('a missing cache tag reads as absent (a first build), not as an error', async () => {
    const t = createRegistryTransport(refusingClient(), 'registry.example.com/team/cache:buildcache')
    assert.equal(await t.readRef('buildcache'), undefined)
  })
})

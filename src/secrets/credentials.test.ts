import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { parseCacheSpecs } from '../cache/spec/parse.ts'
import { staticCredentials } from '../registry/credentials.ts'
import { credentialValues, reportingCredentials, reportingFetch } from './credentials.ts'

describe('credential values for redaction', () => {
  it('collects env credentials (and Azure connection-string keys) and secret cache attributes', () => {
    const env = { ACTIONS_RUNTIME_TOKEN: 'gha-token-1', AZURE_STORAGE_CONNECTION_STRING: 'AccountName=a;AccountKey=azkey123;EndpointSuffix=x', HOME: '/root' }
    const specs = parseCacheSpecs(['type=s3,bucket=b,region=r,access_key_id=AKIAXXXX,secret_access_key=s3secret9'], 'export', { env: {} })
    const vals = credentialValues(env, specs)
    for (const v of ['gha-token-1', 'azkey123', 'AKIAXXXX', 's3secret9']) assert.ok(vals.includes(v), v)
    assert.ok(!vals.includes('/root'))
  })
  it('learns registry passwords from the credential store and tokens from Authorization headers', async () => {
    const learnt: string[] = []
    const creds = reportingCredentials(staticCredentials({ 'r.example': { kind: 'basic', username: 'u', password: 'pw-123456' } }), (v) => learnt.push(v))
    await creds.get('r.example')
    const f = reportingFetch((async () => new Response('ok')) as typeof fetch, (v) => learnt.push(v))
    await f('http://r.example/v2/', { headers: { Authorization: 'Bearer tok-abcdef' } })
    await f('http://r.example/v2/', { headers: { authorization: `Basic ${Buffer.from('u:pw-basic-9').toString('base64')}` } })
    assert.ok(learnt.includes('pw-123456') && learnt.includes('tok-abcdef') && learnt.includes('pw-basic-9'), JSON.stringify(learnt))
  })
})

import { AnonymousCredential, BlobServiceClient, type ContainerClient, type StoragePipelineOptions, StorageSharedKeyCredential } from '@azure/storage-blob'
import { CairnError } from '../../../core/errors.ts'
import type { ResolvedAzblobConfig } from './config.ts'

export type Env = Readonly<Record<string, string | undefined>>
export type AzCredentialSource = 'shared-key' | 'sas' | 'connection-string'

export interface AzClient {
  container: ContainerClient
  source: AzCredentialSource
  /** Account URL without its query string (no SAS), for messages. */
  publicUrl: string
  /** Secret values to redact from messages. */
  secrets: string[]
  /** The account name a connection string names, if any. */
  accountName?: string
}

const PIPELINE: StoragePipelineOptions = {
  // Exponential, capped backoff for 5xx/503 ServerBusy/timeouts; the SDK honours the abort signal.
  retryOptions: { maxTries: 5, retryDelayInMs: 500, maxRetryDelayInMs: 8_000 },
}

/**
 * Credentials, in order: `secret_access_key` (shared key, with `account_name`); a SAS query string
 * in `account_url`; AZURE_STORAGE_CONNECTION_STRING from the injected env. BuildKit's remaining
 * fallback, the Azure default credential chain (managed identity, az login), needs @azure/identity,
 * which is not a dependency: without one of the three an error says what to pass.
 */
export function createAzClient(c: ResolvedAzblobConfig, env: Env): AzClient {
  const conn = env.AZURE_STORAGE_CONNECTION_STRING
  if (c.accountUrl !== undefined) {
    const u = new URL(c.accountUrl)
    const sas = u.search
    u.search = ''
    const publicUrl = u.toString().replace(/\/$/, '')
    if (c.secretAccessKey !== undefined) {
      if (!c.accountName) {
        throw new CairnError('ERR_CACHE_AZBLOB_CONFIG', `azblob cache: account_name is needed for shared-key authentication to ${publicUrl}`, {
          hint: 'pass account_name=<storage account>',
        })
      }
      const cred = new StorageSharedKeyCredential(c.accountName, c.secretAccessKey)
      const svc = new BlobServiceClient(publicUrl, cred, PIPELINE)
      return { container: svc.getContainerClient(c.container), source: 'shared-key', publicUrl, secrets: [c.secretAccessKey] }
    }
    if (/[?&]sig=/.test(sas)) {
      const svc = new BlobServiceClient(c.accountUrl, new AnonymousCredential(), PIPELINE)
      return { container: svc.getContainerClient(c.container), source: 'sas', publicUrl, secrets: [sas.slice(1), new URLSearchParams(sas).get('sig') ?? ''] }
    }
  }
  if (conn) {
    const svc = BlobServiceClient.fromConnectionString(conn, PIPELINE)
    const u = new URL(svc.url)
    u.search = ''
    const key = /AccountKey=([^;]+)/i.exec(conn)?.[1]
    const sas = /SharedAccessSignature=([^;]+)/i.exec(conn)?.[1]
    const name = /AccountName=([^;]+)/i.exec(conn)?.[1]
    return {
      container: svc.getContainerClient(c.container),
      source: 'connection-string',
      publicUrl: u.toString().replace(/\/$/, ''),
      secrets: [conn, key ?? '', sas ?? ''],
      ...(name ? { accountName: name } : {}),
    }
  }
  if (c.accountUrl === undefined) {
    throw new CairnError('ERR_CACHE_AZBLOB_CONFIG', 'azblob cache: account_url is not set', {
      hint: 'pass account_url=https://<account>.blob.core.windows.net (or set $BUILDKIT_AZURE_STORAGE_ACCOUNT_URL), or set AZURE_STORAGE_CONNECTION_STRING',
    })
  }
  throw new CairnError('ERR_CACHE_AZBLOB_NO_CREDENTIALS', `azblob cache: no credentials for ${new URL(c.accountUrl).origin}`, {
    hint: 'pass secret_access_key= (with account_name=), put a SAS token in account_url, or set AZURE_STORAGE_CONNECTION_STRING; the Azure default credential chain is not supported',
  })
}

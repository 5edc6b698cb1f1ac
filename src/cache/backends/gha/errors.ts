import { CairnError } from '../../../core/errors.ts'
import { isQuotaRefusal, readServiceError, redact } from './http.ts'

export { isQuotaRefusal }

export const QUOTA_HINT =
  "the repository's Actions cache is capped (10 GB on github.com) and shared by every workflow: export with mode=min, give each image its own narrow scope=, delete stale entries (gh cache delete / the Caches page), or move large caches to a registry (type=registry)"

const AUTH_HINT =
  'the runtime token is missing, expired or for another repository: run the export inside the job that owns ACTIONS_RUNTIME_TOKEN (docker/build-push-action passes it; in `run:` steps use crazy-max/ghaction-github-runtime); pull requests from forks only get read access'

export function quotaError(what: string, detail: string, secrets: readonly string[]): CairnError {
  return new CairnError(
    'ERR_GHA_QUOTA',
    `GitHub Actions cache refused ${what}: storage quota or entry size limit reached${detail ? ` (${redact(detail, secrets)})` : ''}`,
    {
      hint: QUOTA_HINT,
    },
  )
}

/**
 * Turns a non-success, non-retried response into a CairnError naming the operation; the token and
 * signed-URL signatures are scrubbed from anything the server said.
 */
export async function serviceFailure(res: Response, what: string, secrets: readonly string[]): Promise<CairnError> {
  const e = await readServiceError(res)
  const said = e.message ? `: ${redact(e.message, secrets)}` : ''
  if (isQuotaRefusal(res.status, e)) return quotaError(what, e.message, secrets)
  if (res.status === 401 || (res.status === 403 && !/quota/i.test(e.message))) {
    const label = res.status === 401 ? '401 Unauthorized' : '403 Forbidden'
    return new CairnError('ERR_GHA_AUTH', `GitHub Actions cache rejected the runtime token (${label}) for ${what}${said}`, { hint: AUTH_HINT })
  }
  return new CairnError('ERR_GHA_HTTP', `GitHub Actions cache: ${what} failed with HTTP ${res.status}${e.code ? ` ${e.code}` : ''}${said}`, {
    hint: 'if this persists, set ignore-error=true on the cache export so the build itself does not fail',
    details: { status: res.status, code: e.code },
  })
}

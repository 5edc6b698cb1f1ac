import { InvalidArgumentError } from '../core/errors.ts'

/** A parsed image reference, normalised the way Docker does (`busybox` → `docker.io/library/busybox:latest`). */
export interface ImageRef {
  domain: string
  path: string
  tag?: string
  digest?: string
}

const DIGEST_RE = /^[a-z0-9]+(?:[.+_-][a-z0-9]+)*:[a-zA-Z0-9=_-]+$/
const TAG_RE = /^[\w][\w.-]{0,127}$/
const PATH_RE = /^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*(?:\/[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*)*$/

export function parseImageRef(input: string): ImageRef {
  let rest = input
  let digest: string | undefined
  const at = rest.indexOf('@')
  if (at >= 0) {
    digest = rest.slice(at + 1)
    rest = rest.slice(0, at)
    if (!DIGEST_RE.test(digest)) throw new InvalidArgumentError(`invalid reference ${JSON.stringify(input)}: bad digest`)
  }
  let tag: string | undefined
  const lastSlash = rest.lastIndexOf('/')
  const colon = rest.lastIndexOf(':')
  if (colon > lastSlash) {
    tag = rest.slice(colon + 1)
    rest = rest.slice(0, colon)
    if (!TAG_RE.test(tag)) throw new InvalidArgumentError(`invalid reference ${JSON.stringify(input)}: bad tag ${JSON.stringify(tag)}`)
  }
  let domain = 'docker.io'
  let path = rest
  const slash = rest.indexOf('/')
  if (slash >= 0) {
    const first = rest.slice(0, slash)
    if (first.includes('.') || first.includes(':') || first === 'localhost' || first !== first.toLowerCase()) {
      domain = first
      path = rest.slice(slash + 1)
    }
  }
  if (domain === 'index.docker.io') domain = 'docker.io'
  if (domain === 'docker.io' && !path.includes('/')) path = `library/${path}`
  if (!PATH_RE.test(path)) {
    throw new InvalidArgumentError(`invalid reference format: ${JSON.stringify(input)}`, { hint: 'repository names must be lowercase, e.g. registry.example.com/team/app:1.0' })
  }
  return { domain, path, ...(tag !== undefined ? { tag } : {}), ...(digest !== undefined ? { digest } : {}) }
}

/** The full normalised name with tag (default `latest`) and digest if any. */
export function formatImageRef(r: ImageRef, o: { defaultTag?: boolean } = { defaultTag: true }): string {
  const tag = r.tag ?? (o.defaultTag && !r.digest ? 'latest' : undefined)
  return `${r.domain}/${r.path}${tag ? `:${tag}` : ''}${r.digest ? `@${r.digest}` : ''}`
}

export function normalizeImageName(input: string): string {
  return formatImageRef(parseImageRef(input))
}

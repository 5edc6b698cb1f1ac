import { createHash } from 'node:crypto'
import { readFile } from 'node:fs/promises'
import type { Step } from './cairn.ts'

/**
 * The Dockerfile of the cache round-trip tests: two stages with random bytes in RUN steps, so only
 * a cache hit can give a byte-identical image on another machine.
 */
export const CACHE_DOCKERFILE = `FROM test/base:1 AS build
RUN head -c 1000000 /dev/urandom > /r
COPY src/ /src/
RUN cat /src/* > /joined && head -c 1000 /dev/urandom > /build-random

FROM test/base:1
COPY --from=build /joined /app/joined
RUN head -c 200000 /dev/urandom > /app/random && echo done > /app/done
`

/** sha256 (hex) of a file, to compare image archives byte for byte. */
export const sha256File = async (p: string): Promise<string> => createHash('sha256').update(await readFile(p)).digest('hex')

/** The RUN and COPY steps that ran (were not cached). */
export const ranSteps = (s: Step[]): string[] => s.filter((x) => !x.cached && /\b(RUN|COPY)\b/.test(x.name)).map((x) => x.name)

import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { InvalidArgumentError } from '../core/errors.ts'

export interface ResolvedUser {
  uid: number
  gid: number
  additionalGids: number[]
}

async function readEtc(rootfs: string, name: string): Promise<string[][]> {
  try {
    const text = await readFile(join(rootfs, 'etc', name), 'utf8')
    return text.split('\n').filter((l) => l && !l.startsWith('#')).map((l) => l.split(':'))
  } catch {
    return []
  }
}

const isNum = (s: string): boolean => /^\d+$/.test(s)

/** Resolves a Dockerfile USER (`name`, `uid`, `name:group`, `uid:gid`) against the rootfs' /etc/passwd and /etc/group. */
export async function resolveUser(rootfs: string, user: string | undefined): Promise<ResolvedUser> {
  if (!user) return { uid: 0, gid: 0, additionalGids: [] }
  const [u = '', g] = user.split(':', 2)
  const passwd = await readEtc(rootfs, 'passwd')
  let uid: number
  let gid: number | undefined
  let userName: string | undefined
  if (isNum(u)) {
    uid = Number(u)
    const row = passwd.find((r) => r[2] === u)
    if (row) {
      gid = Number(row[3])
      userName = row[0]
    }
  } else {
    const row = passwd.find((r) => r[0] === u) ?? (u === 'root' ? ['root', 'x', '0', '0'] : undefined)
    if (!row) throw new InvalidArgumentError(`unable to find user ${u}: no matching entries in passwd file`, { code: 'ERR_USER_UNKNOWN', hint: 'create the user in an earlier RUN step, or use a numeric uid' })
    uid = Number(row[2])
    gid = Number(row[3])
    userName = u
  }
  const groups = await readEtc(rootfs, 'group')
  if (g !== undefined) {
    if (isNum(g)) gid = Number(g)
    else {
      const row = groups.find((r) => r[0] === g)
      if (!row) throw new InvalidArgumentError(`unable to find group ${g}: no matching entries in group file`, { code: 'ERR_GROUP_UNKNOWN' })
      gid = Number(row[2])
    }
  }
  const additionalGids = g === undefined && userName
    ? groups.filter((r) => (r[3] ?? '').split(',').includes(userName as string)).map((r) => Number(r[2]))
    : []
  return { uid, gid: gid ?? 0, additionalGids }
}

/** Resolves a `--chown` value (`user[:group]`); a user alone means its primary group, as Docker does. */
export async function resolveChown(rootfs: string, chown: string): Promise<{ uid: number; gid: number }> {
  const [u = '', g] = chown.split(':', 2)
  let uid: number
  let gid: number | undefined
  if (isNum(u)) {
    uid = Number(u)
    if (g === undefined) gid = uid
  } else {
    const r = await resolveUser(rootfs, u)
    uid = r.uid
    gid = r.gid
  }
  if (g !== undefined) {
    gid = isNum(g) ? Number(g) : (await resolveUser(rootfs, `${uid}:${g}`)).gid
  }
  return { uid, gid: gid ?? 0 }
}

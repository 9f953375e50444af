/**
 * Visit id as Umami v3 derives it: the hour-bucketed uuid of the session, carried in
 * the cache token while the visit lasts; a visit rolls over 30 minutes after it *started* (the
 * token's `iat` is carried unchanged), not after 30 minutes of inactivity.
 */
import { LRUCache } from 'lru-cache'
import { hash, umamiUuid } from './hash.ts'
import { perSecret } from './per-secret.ts'
import type { CacheToken } from './cache-token.ts'

export const VISIT_DURATION_SECONDS = 1800

export function startOfHourUtc(at: Date): Date {
  const d = new Date(at.getTime())
  d.setUTCMinutes(0, 0, 0)
  return d
}

const hourSalts = new Map<number, string>()

/** `hash(startOfHour(createdAt).toUTCString())`, cached per hour (keyed by the hour number). */
export function visitSalt(createdAt: Date): string {
  const key = Math.floor(createdAt.getTime() / 3_600_000)
  let salt = hourSalts.get(key)
  if (salt === undefined) {
    if (hourSalts.size > 64) hourSalts.clear()
    salt = hash(startOfHourUtc(createdAt).toUTCString())
    hourSalts.set(key, salt)
  }
  return salt
}

export interface VisitInput {
  sessionId: string
  createdAt: Date
  /** A verified cache token for this site, or null. */
  token: CacheToken | null
  /** Seconds since epoch, now. */
  nowSeconds: number
  /** The payload carried its own timestamp (then no 30-minute rollover, as in Umami). */
  hasTimestamp: boolean
  secret: string
}

// The hourly visit id of a session is the same for all its events in that hour: memoised (bounded),
// one memo per secret (the secret is 128 characters: not worth hashing into every key).
const hourlyVisits = perSecret(() => new LRUCache<string, string>({ max: 100_000 }))

/** `uuid(sessionId, visitSalt(createdAt))`, memoised per session, hour and secret. */
export function hourlyVisitId(sessionId: string, createdAt: Date, secret: string): string {
  const memo = hourlyVisits(secret)
  const key = `${sessionId}\n${Math.floor(createdAt.getTime() / 3_600_000)}`
  let id = memo.get(key)
  if (id === undefined) {
    id = umamiUuid(secret, sessionId, visitSalt(createdAt))
    memo.set(key, id)
  }
  return id
}

export function resolveVisit(input: VisitInput): { visitId: string; iat: number } {
  let visitId = input.token?.visitId || hourlyVisitId(input.sessionId, input.createdAt, input.secret)
  let iat = input.token?.iat || input.nowSeconds
  if (!input.hasTimestamp && input.nowSeconds - iat > VISIT_DURATION_SECONDS) {
    visitId = hourlyVisitId(input.sessionId, input.createdAt, input.secret)
    iat = input.nowSeconds
  }
  return { visitId, iat }
}

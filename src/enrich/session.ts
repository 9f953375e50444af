/**
 * Session id exactly as Umami v3 derives it, with the default monthly salt rotation.
 * Umami computes the month start in the server's local time zone; its Docker image runs in UTC, so
 * Floe computes it in UTC explicitly and gets the same ids regardless of the host's TZ.
 */
import { hash, umamiUuid } from './hash.ts'

/** First instant of the UTC month containing `at`. */
export function startOfMonthUtc(at: Date): Date {
  return new Date(Date.UTC(at.getUTCFullYear(), at.getUTCMonth(), 1))
}

// Salts change once a month; a tiny map keyed by the month number saves the date formatting and
// one sha512 per event.
const monthSalts = new Map<number, string>()

/** `hash(startOfMonth(createdAt).toUTCString())`, e.g. of `Fri, 01 May 2026 00:00:00 GMT`. */
export function sessionSalt(createdAt: Date): string {
  const key = createdAt.getUTCFullYear() * 12 + createdAt.getUTCMonth()
  let salt = monthSalts.get(key)
  if (salt === undefined) {
    if (monthSalts.size > 32) monthSalts.clear()
    salt = hash(startOfMonthUtc(createdAt).toUTCString())
    monthSalts.set(key, salt)
  }
  return salt
}

export interface SessionInput {
  /** website (or link/pixel) id, as sent. */
  sourceId: string
  ip: string | undefined
  userAgent: string | undefined
  /** payload.id (distinct id): when present the session is `uuid(sourceId, id)`, stable forever. */
  distinctId: string | undefined
  createdAt: Date
  /** secretHash(APP_SECRET). */
  secret: string
}

export function sessionId(input: SessionInput): string {
  if (input.distinctId) return umamiUuid(input.secret, input.sourceId, input.distinctId)
  return umamiUuid(input.secret, input.sourceId, input.ip, input.userAgent, sessionSalt(input.createdAt))
}

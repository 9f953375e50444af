/**
 * A refused event as a `pa_rejected` row (the dead-letter table, docs/dead-letter.md), pure: the
 * receiver decides what is refused, this decides what of it may be kept.
 *
 * Never an IP address: the payload is copied with every string that parses as an IP address
 * (v4 or v6, with or without a port or brackets) removed, wherever it sits (`context.ip`, a data
 * property, an array item), and `context.ip` is removed whatever it holds. Headers are kept only
 * from an allowlist of those enrichment reads (user agent, language, origin, referrer, the CDN geo
 * headers), so forwarding headers (`x-forwarded-for`, `forwarded`, …), credentials
 * (`authorization`, `x-write-key`, signatures) and cookies are never stored; an allowed header
 * whose value is an IP is dropped too.
 */
import { randomUUID } from 'node:crypto'
import { isIP } from 'node:net'
import type { RejectedReason, RejectedRow } from '../rows.ts'
import { GEO_HEADERS } from './geo.ts'
import type { Headers } from './ip.ts'
import { headerValue } from './ip.ts'

/** Headers a replay needs to enrich the event as it was first received. */
export const KEPT_HEADERS: readonly string[] = [
  'user-agent',
  'accept-language',
  'origin',
  'referer',
  'content-type',
  ...GEO_HEADERS,
]

/** Longest header value kept (a user agent is rarely above 500 characters). */
const HEADER_MAX = 2000

/** Does `s` read as an IP address (optionally `ip:port`, `[v6]:port` or quoted)? */
export function looksLikeIp(s: string): boolean {
  let v = s.trim().replace(/^"|"$/g, '')
  if (v.length < 2 || v.length > 64) return false
  const bracket = /^\[([^\]]+)\](?::\d+)?$/.exec(v)
  if (bracket) v = bracket[1]
  else if (/^\d{1,3}(\.\d{1,3}){3}:\d+$/.test(v)) v = v.slice(0, v.lastIndexOf(':'))
  return isIP(v.split('%')[0]) !== 0
}

const MAX_DEPTH = 64

/** A deep copy of `value` without IP-looking strings (object keys holding one are dropped). */
export function withoutIps(value: unknown, depth = 0): unknown {
  if (typeof value === 'string') return looksLikeIp(value) ? undefined : value
  if (value === null || typeof value !== 'object') return value
  // Bodies nest up to the JSON limits (a 40k-deep batch item is a 400): what is deeper than any
  // event needs is not kept, so copying and serialising it stays bounded.
  if (depth >= MAX_DEPTH) return '[removed: nested deeper than 64 levels]'
  if (Array.isArray(value)) return value.map((v) => withoutIps(v, depth + 1)).filter((v) => v !== undefined)
  const out: Record<string, unknown> = {}
  for (const [k, v] of Object.entries(value)) {
    const kept = withoutIps(v, depth + 1)
    if (kept !== undefined) out[k] = kept
  }
  return out
}

/** A message with every IP-looking word replaced (a validation message may quote the value). */
export function withoutIpTokens(s: string): string {
  return s.replace(/[^\s"'`,;()]+/g, (tok) => (looksLikeIp(tok) ? '[ip removed]' : tok))
}

/** The payload to store: IP strings removed, and `context.ip` (the /v1 end-user IP) whatever it holds. */
export function storablePayload(raw: unknown): string {
  const copy = withoutIps(raw)
  const context = (copy as { context?: unknown } | null)?.context
  if (context && typeof context === 'object' && !Array.isArray(context))
    delete (context as Record<string, unknown>).ip
  return JSON.stringify(copy ?? null)
}

/** The allowlisted headers, without IP-looking values; null when none. */
export function storableHeaders(headers: Headers): Record<string, string> | null {
  const out: Record<string, string> = {}
  for (const name of KEPT_HEADERS) {
    const v = headerValue(headers, name)
    if (v === undefined || v.length > HEADER_MAX || looksLikeIp(v)) continue
    out[name] = v
  }
  return Object.keys(out).length > 0 ? out : null
}

export interface Refusal {
  siteId: string
  /** ms since the epoch. */
  receivedAt: number
  endpoint: '/v1/events' | '/api/send' | '/api/batch'
  reason: RejectedReason
  field?: string
  message?: string
  eventId?: string | null
  /** The event as received (parsed JSON). */
  raw: unknown
  headers: Headers
}

export function rejectedRow(r: Refusal): RejectedRow {
  return {
    rejected_id: randomUUID(),
    site_id: r.siteId,
    received_at: r.receivedAt * 1000,
    endpoint: r.endpoint,
    reason: r.reason,
    field: r.field ?? null,
    message: r.message === undefined ? null : withoutIpTokens(r.message.slice(0, 1000)),
    event_id: r.eventId && !looksLikeIp(r.eventId) ? r.eventId : null,
    payload: storablePayload(r.raw),
    headers: storableHeaders(r.headers),
  }
}

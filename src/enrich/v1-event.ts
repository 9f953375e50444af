/**
 * One `/v1/events` event (docs/v1-events.md) → a `pa_events` row (and a `pa_sessions` row the first
 * time this process sees the session), on the same enrichment as `/api/send`: URL, referrer and
 * UTM columns (url.ts), custom data (event-data.ts), User-Agent and geo, Umami-style session and
 * visit ids. A bad field throws ValidationError naming it (`events.3.ts`); the caller turns that
 * into a per-event error, so one bad event never refuses its batch. Unknown fields are ignored
 * (forward compatible). Its only I/O is the injected geo reader.
 *
 * Ids: `event_id` is the client's (the idempotency key with the site). The session id is the
 * client's `identity.session_id` when sent, else Umami's derivation: from `visitor_id` (or
 * `user_id_hash`) when sent, stable for that visitor, else from the IP and User-Agent of the
 * request (or `context.ip` / `context.user_agent`, for a backend sending on a browser's behalf).
 * The IP is used for that and for geo only, never stored.
 */
import { LRUCache } from 'lru-cache'
import type { EventRow, SessionRow } from '../rows.ts'
import { ValidationError } from '../errors.ts'
import { cachedBotCheck } from './bot.ts'
import { cachedUserAgentParser, deviceFor } from './client-info.ts'
import { flattenData } from './event-data.ts'
import { locate, type GeoReader } from './geo.ts'
import { secretHash } from './hash.ts'
import { clientIp, headerValue, normalizeIp } from './ip.ts'
import { checkEventTime, DEFAULT_EVENT_TIME_WINDOW, type RequestContext } from './process.ts'
import { sessionId as deriveSessionId } from './session.ts'
import { truncate } from './truncate.ts'
import { pageColumns } from './url.ts'
import { hourlyVisitId } from './visit.ts'

/** Longest accepted event id, session id, visitor id and user hash (characters). */
export const V1_ID_MAX = 128
const NAME_MAX = 50
const PARAM_MAX = 255
const URL_MAX = 1000

export interface V1EnricherOptions {
  appSecret: string
  clientIpHeader: string | undefined
  disableBotCheck: boolean
  geo?: GeoReader
  eventTimeWindow?: { maxPastSeconds: number; maxFutureSeconds: number }
}

export type V1Outcome =
  | { kind: 'bot' }
  | {
      kind: 'row'
      event: EventRow
      session: SessionRow | null
      sessionKey: string
      /** Who the event is about, for visitor sampling: user_id_hash ?? visitor_id ?? session id. */
      visitorKey: string
    }

export interface V1Enricher {
  /** Rows for `events[index]` of site `siteId`; throws ValidationError naming the field. */
  enrich(siteId: string, raw: unknown, index: number, ctx: RequestContext): V1Outcome
  /** Forget a session memo (its rows were refused by the sink). */
  forget(sessionKey: string): void
}

type Json = Record<string, unknown>
const isObject = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v)

function optionalObject(v: unknown, field: string): Json | undefined {
  if (v === undefined || v === null) return undefined
  if (!isObject(v)) throw new ValidationError(field, 'must be an object')
  return v
}

function optionalString(v: unknown, field: string, max: number): string | undefined {
  if (v === undefined || v === null) return undefined
  if (typeof v !== 'string') throw new ValidationError(field, 'must be a string')
  if (v.length > max) throw new ValidationError(field, `must be at most ${max} characters`)
  return v === '' ? undefined : v
}

/** `ts` / `sent_at`: RFC 3339 text or epoch milliseconds → ms. */
export function parseTimestamp(v: unknown, field: string): number {
  if (typeof v === 'number' && Number.isFinite(v)) return Math.trunc(v)
  if (typeof v === 'string' && /^\d{4}-\d{2}-\d{2}T/.test(v)) {
    const ms = Date.parse(v)
    if (Number.isFinite(ms)) return ms
  }
  throw new ValidationError(
    field,
    'must be an RFC 3339 date-time (2026-12-03T12:00:00Z) or epoch milliseconds',
  )
}

function checkUrl(v: string | undefined, field: string): void {
  if (v === undefined) return
  try {
    new URL(v, 'https://localhost')
  } catch {
    throw new ValidationError(field, 'must be a URL or a path')
  }
}

export function createV1Enricher(opts: V1EnricherOptions): V1Enricher {
  const secret = secretHash(opts.appSecret)
  const parseUa = cachedUserAgentParser()
  const isBot = cachedBotCheck(opts.disableBotCheck)
  const window = opts.eventTimeWindow ?? DEFAULT_EVENT_TIME_WINDOW
  // Sessions this process has written a pa_sessions row for (the read view merges repeats anyway).
  const seen = new LRUCache<string, true>({ max: 100_000 })

  function enrich(siteId: string, raw: unknown, index: number, ctx: RequestContext): V1Outcome {
    const f = (name: string) => `events.${index}.${name}`
    if (!isObject(raw)) throw new ValidationError(`events.${index}`, 'must be an object')
    const eventId = optionalString(raw.event_id, f('event_id'), V1_ID_MAX)
    if (eventId === undefined) throw new ValidationError(f('event_id'), 'is required (a non-empty string)')
    const type = optionalString(raw.type, f('type'), NAME_MAX)
    if (type === undefined) throw new ValidationError(f('type'), 'is required (pageview or an event name)')
    if (raw.ts === undefined) throw new ValidationError(f('ts'), 'is required')
    const tsMs = parseTimestamp(raw.ts, f('ts'))
    try {
      checkEventTime(tsMs / 1000, ctx.receivedAt, window)
    } catch (err) {
      if (err instanceof ValidationError)
        throw new ValidationError(f('ts'), err.message.replace(/^[^:]*: /, ''))
      throw err
    }

    const context = optionalObject(raw.context, f('context')) ?? {}
    const page = optionalObject(context.page, f('context.page')) ?? {}
    const campaign = optionalObject(context.campaign, f('context.campaign')) ?? {}
    const utm = optionalObject(campaign.utm, f('context.campaign.utm')) ?? {}
    const identity = optionalObject(raw.identity, f('identity')) ?? {}
    const data = optionalObject(raw.data, f('data'))

    const url = optionalString(page.url, f('context.page.url'), URL_MAX)
    const path = optionalString(page.path, f('context.page.path'), URL_MAX)
    const referrer = optionalString(page.referrer, f('context.page.referrer'), URL_MAX)
    const title = optionalString(page.title, f('context.page.title'), 500)
    checkUrl(url, f('context.page.url'))
    checkUrl(path, f('context.page.path'))
    checkUrl(referrer, f('context.page.referrer'))
    const campaignId = optionalString(campaign.campaign_id, f('context.campaign.campaign_id'), PARAM_MAX)
    const utmValues = Object.fromEntries(
      (['source', 'medium', 'campaign', 'content', 'term'] as const).map((k) => [
        `utm_${k}`,
        optionalString(utm[k], f(`context.campaign.utm.${k}`), PARAM_MAX),
      ]),
    ) as Record<string, string | undefined>
    const visitorId = optionalString(identity.visitor_id, f('identity.visitor_id'), V1_ID_MAX)
    const sessionIdSent = optionalString(identity.session_id, f('identity.session_id'), V1_ID_MAX)
    const userIdHash = optionalString(identity.user_id_hash, f('identity.user_id_hash'), V1_ID_MAX)
    const userAgent =
      optionalString(context.user_agent, f('context.user_agent'), 1000) ??
      headerValue(ctx.headers, 'user-agent') ??
      undefined
    const language = optionalString(context.locale, f('context.locale'), 35)
    const screen = optionalString(context.screen, f('context.screen'), 11)
    const ipSent = optionalString(context.ip, f('context.ip'), 45)
    const eventData = flattenData(data, f('data'))

    if (isBot(userAgent)) return { kind: 'bot' }
    const ip = ipSent ? normalizeIp(ipSent) : clientIp(ctx.headers, opts.clientIpHeader, ctx.socketIp)
    const ua = parseUa(userAgent)
    const geo = locate(ip, ctx.headers, { skipHeaders: ipSent !== undefined, reader: opts.geo })
    const createdAt = new Date(tsMs)
    const sessionId =
      sessionIdSent ??
      deriveSessionId({
        sourceId: siteId,
        ip,
        userAgent,
        distinctId: visitorId ?? userIdHash,
        createdAt,
        secret,
      })
    const columns = pageColumns({ url: url ?? path, hostname: undefined, referrer, title })
    const attrs = {
      browser: ua.browser,
      os: ua.os,
      device: deviceFor(ua.deviceType, screen),
      screen: screen ?? null,
      language: language ?? null,
      country: geo?.country ?? null,
      region: geo?.region ?? null,
      city: geo?.city ?? null,
    }
    const eventTime = tsMs * 1000
    const receivedAt = ctx.receivedAt * 1000
    const pageview = type === 'pageview' || type === 'page_view'
    const event: EventRow = {
      site_id: siteId,
      event_id: eventId,
      session_id: sessionId,
      visit_id: hourlyVisitId(sessionId, createdAt, secret),
      event_time: eventTime,
      received_at: receivedAt,
      event_type: pageview ? 1 : 2,
      event_name: pageview ? null : type,
      ...columns,
      tag: null,
      distinct_id: userIdHash ?? null,
      ...attrs,
      event_data: eventData,
      campaign_id: campaignId ?? null,
      source: 'v1',
      sample_rate: null,
    }
    // Explicit UTM fields win over the ones in the page URL.
    for (const [k, v] of Object.entries(utmValues))
      if (v !== undefined) (event as Record<string, unknown>)[k] = truncate(v, PARAM_MAX)
    const sessionKey = `${siteId}\n${sessionId}`
    let session: SessionRow | null = null
    if (!seen.has(sessionKey)) {
      seen.set(sessionKey, true)
      session = {
        session_id: sessionId,
        site_id: siteId,
        created_at: eventTime,
        updated_at: receivedAt,
        ...attrs,
        distinct_id: userIdHash ?? null,
        session_data: null,
      }
    }
    return { kind: 'row', event, session, sessionKey, visitorKey: userIdHash ?? visitorId ?? sessionId }
  }

  return { enrich, forget: (key) => void seen.delete(key) }
}

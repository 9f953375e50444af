/**
 * The enrichment pipeline: one raw `/api/send` body plus its request context in, rows for
 * `pa_events` / `pa_sessions` and Umami's response out, or a typed rejection (thrown):
 * ValidationError (400), UnknownSiteError (400), IgnoredIpError (403). Bots are an outcome, not an
 * error (Umami answers 200 `{"beep":"boop"}`). Its only I/O is the injected site lookup and geo reader.
 *
 * Order follows Umami's route: validate → cache token → site → client info → bot → IGNORE_IP → ids.
 * (Bot and IGNORE_IP checks run before the UA parse and geo lookup: same answers, less work.)
 */
import { randomUUID } from 'node:crypto'
import type { EventRow, RowsByTable, SessionRow } from '../rows.ts'
import { IgnoredIpError, UnknownSiteError, ValidationError } from '../errors.ts'
import { validateSendBody, type SendPayload } from './validate.ts'
import { clientIp, headerValue, normalizeIp, type Headers } from './ip.ts'
import { cachedBotCheck, isIgnoredIp, parseIgnoreList } from './bot.ts'
import { cachedUserAgentParser, deviceFor } from './client-info.ts'
import { locate, type GeoReader } from './geo.ts'
import { secretHash } from './hash.ts'
import { sessionId as deriveSessionId } from './session.ts'
import { resolveVisit } from './visit.ts'
import { signCacheToken, verifyCacheToken } from './cache-token.ts'
import { pageColumns } from './url.ts'
import { flattenData } from './event-data.ts'
import { SessionCache } from './session-cache.ts'
import { checkSessionData, DEFAULT_SESSION_DATA_LIMITS, type SessionDataLimits } from './session-data.ts'
import { LRUCache } from 'lru-cache'
import { LastCall } from './last-call.ts'
import type { GeoLocation } from './geo.ts'
import type { UserAgentInfo } from './client-info.ts'

export interface RequestContext {
  headers: Headers
  /** The TCP peer address, used only when no client-IP header is present. */
  socketIp: string | undefined
  /** Receive time, ms since epoch. */
  receivedAt: number
}

export interface SendResponse {
  cache: string
  sessionId: string
  visitId: string
}

export type ProcessOutcome =
  | { kind: 'bot' }
  | {
      kind: 'accepted'
      rows: RowsByTable
      response: SendResponse
      /** Call when the sink refused the rows: forgets the session memo this request recorded. */
      rollback(): void
    }

export interface PipelineOptions {
  appSecret: string
  clientIpHeader: string | undefined
  ignoreIp: readonly string[]
  disableBotCheck: boolean
  /** Site lookup (cached by the site store); null or a deleted site → 400. */
  lookupSite(siteId: string): Promise<{ deletedAt: string | null } | null>
  geo?: GeoReader
  userAgentCacheSize?: number
  sessionCacheSize?: number
  /** SESSION_DATA_MAX_KEYS / SESSION_DATA_MAX_VALUE_BYTES (defaults in session-data.ts). */
  sessionData?: Partial<SessionDataLimits>
  /**
   * Accepted `payload.timestamp` window around the receive time (EVENT_TIME_MAX_PAST_SECONDS,
   * EVENT_TIME_MAX_FUTURE_SECONDS; default 7 days back, 1 hour ahead). Event time picks the
   * `day(event_time)` partition, so an unbounded client value could create any number of
   * partitions (years 1970..2223 are 92,000 days).
   */
  eventTimeWindow?: { maxPastSeconds: number; maxFutureSeconds: number }
}

export const DEFAULT_EVENT_TIME_WINDOW = { maxPastSeconds: 7 * 86_400, maxFutureSeconds: 3_600 }

export interface Pipeline {
  process(raw: unknown, ctx: RequestContext): Promise<ProcessOutcome>
  /** The client IP as the pipeline resolves it (for rate limiting; never stored). */
  clientIp(ctx: Pick<RequestContext, 'headers' | 'socketIp'>): string | undefined
}

const VITALS = ['lcp', 'inp', 'cls', 'fcp', 'ttfb'] as const

/** 400 naming `payload.timestamp` when it is outside the window around the receive time. */
export function checkEventTime(
  timestampSeconds: number,
  receivedAtMs: number,
  window: { maxPastSeconds: number; maxFutureSeconds: number },
): void {
  const receivedSeconds = receivedAtMs / 1000
  if (timestampSeconds < receivedSeconds - window.maxPastSeconds)
    throw new ValidationError(
      'payload.timestamp',
      `is more than ${window.maxPastSeconds} seconds before the time the event was received (EVENT_TIME_MAX_PAST_SECONDS)`,
    )
  if (timestampSeconds > receivedSeconds + window.maxFutureSeconds)
    throw new ValidationError(
      'payload.timestamp',
      `is more than ${window.maxFutureSeconds} seconds after the time the event was received (EVENT_TIME_MAX_FUTURE_SECONDS)`,
    )
}

export function createPipeline(opts: PipelineOptions): Pipeline {
  const secret = secretHash(opts.appSecret)
  const ignore = parseIgnoreList(opts.ignoreIp)
  const parseUa = cachedUserAgentParser(opts.userAgentCacheSize)
  const isBot = cachedBotCheck(opts.disableBotCheck, opts.userAgentCacheSize)
  const sessions = new SessionCache(opts.sessionCacheSize)
  const limits: SessionDataLimits = { ...DEFAULT_SESSION_DATA_LIMITS, ...opts.sessionData }

  // The session id costs a sha512 + a SHA-1 over ~400 bytes (~8 µs) and is the same for every event
  // of a visitor within the month: memoised per (site, ip, ua, distinct id, month). The key lives
  // in process memory only (like the rate limiter's), never in rows or logs.
  const sessionIds = new LRUCache<string, string>({ max: opts.sessionCacheSize ?? 100_000 })
  const sessionIdOf = (
    site: string,
    ip: string | undefined,
    ua: string | undefined,
    id: string | undefined,
    at: Date,
  ) => {
    const key = `${site}\n${ip ?? ''}\n${ua ?? ''}\n${id ?? ''}\n${at.getUTCFullYear() * 12 + at.getUTCMonth()}`
    let sid = sessionIds.get(key)
    if (sid === undefined) {
      sid = deriveSessionId({ sourceId: site, ip, userAgent: ua, distinctId: id, createdAt: at, secret })
      sessionIds.set(key, sid)
    }
    return sid
  }

  const resolveIp = (ctx: Pick<RequestContext, 'headers' | 'socketIp'>) =>
    clientIp(ctx.headers, opts.clientIpHeader, ctx.socketIp)

  const window = opts.eventTimeWindow ?? DEFAULT_EVENT_TIME_WINDOW

  // One-entry memos (last-call.ts): the items of a batch share headers, site, visitor and hour, so
  // each of these is the previous item's answer; all are pure in their keys.
  const last = {
    token: new LastCall<ReturnType<typeof verifyCacheToken>>(),
    bot: new LastCall<boolean>(),
    ip: new LastCall<string | undefined>(),
    ua: new LastCall<UserAgentInfo>(),
    geo: new LastCall<GeoLocation | null>(),
    session: new LastCall<string>(),
    visit: new LastCall<{ visitId: string; iat: number }>(),
    signed: new LastCall<string>(),
  }

  async function process(raw: unknown, ctx: RequestContext): Promise<ProcessOutcome> {
    const { type, payload } = validateSendBody(raw)
    if (payload.timestamp !== undefined) checkEventTime(payload.timestamp, ctx.receivedAt, window)
    if (!payload.website)
      throw new ValidationError(
        'payload.website',
        'short links and pixels are not supported by Floe; send website',
      )
    // Umami hashes the website id as sent (session id, token claim); sites and rows use lowercase.
    const websiteAsSent = payload.website
    const website = websiteAsSent.toLowerCase()
    const rawToken = headerValue(ctx.headers, 'x-umami-cache')
    const token = last.token.get([rawToken], () => verifyCacheToken(rawToken, secret))
    // Unlike Umami, a valid token does not skip the lookup (it is cached anyway), so a site deleted
    // after the token was issued stops receiving; a token of another site is ignored.
    const site = await opts.lookupSite(website)
    if (!site || site.deletedAt !== null) throw new UnknownSiteError(website)
    const cache = token && token.websiteId?.toLowerCase() === website ? token : null

    const userAgent = payload.userAgent || headerValue(ctx.headers, 'user-agent') || undefined
    if (last.bot.get([userAgent], () => isBot(userAgent))) return { kind: 'bot' }
    const ip = payload.ip
      ? normalizeIp(payload.ip)
      : last.ip.get([ctx.headers, ctx.socketIp], () => resolveIp(ctx))
    if (isIgnoredIp(ip, ignore)) throw new IgnoredIpError()

    const ua = last.ua.get([userAgent], () => parseUa(userAgent))
    const skipHeaders = payload.ip !== undefined
    const geo = last.geo.get([ip, ctx.headers, skipHeaders], () =>
      locate(ip, ctx.headers, { skipHeaders, reader: opts.geo }),
    )
    const createdAt =
      payload.timestamp !== undefined ? new Date(payload.timestamp * 1000) : new Date(ctx.receivedAt)
    // The session id depends on the time only through its month, the visit id through its hour.
    const month = createdAt.getUTCFullYear() * 12 + createdAt.getUTCMonth()
    const hour = Math.floor(createdAt.getTime() / 3_600_000)
    const sessionId = last.session.get([websiteAsSent, ip, userAgent, payload.id, month], () =>
      sessionIdOf(websiteAsSent, ip, userAgent, payload.id, createdAt),
    )
    const nowSeconds = Math.floor(ctx.receivedAt / 1000)
    const hasTimestamp = payload.timestamp !== undefined
    const visit = last.visit.get([sessionId, cache, nowSeconds, hasTimestamp, hour], () =>
      resolveVisit({ sessionId, createdAt, token: cache, nowSeconds, hasTimestamp, secret }),
    )
    const eventTime = createdAt.getTime() * 1000
    const receivedAt = ctx.receivedAt * 1000
    const attrs = {
      browser: payload.browser ?? ua.browser,
      os: payload.os ?? ua.os,
      device: payload.device ?? deviceFor(ua.deviceType, payload.screen),
      screen: payload.screen ?? null,
      language: payload.language ?? null,
      country: geo?.country ?? null,
      region: geo?.region ?? null,
      city: geo?.city ?? null,
    }
    const distinctId = payload.id ?? null

    const rows: RowsByTable = { pa_events: [], pa_sessions: [] }
    const memo = sessions.get(sessionId)
    let rollback = () => {}
    if (type === 'identify') {
      const data = flattenData(payload.data, 'payload.data')
      // The row holds only what this call sent; the read view merges per key (session-cache.ts).
      const dataKeys = checkSessionData(data, memo?.dataKeys ?? null, limits)
      const next = {
        createdAt: memo?.createdAt ?? eventTime,
        distinctId: distinctId ?? memo?.distinctId ?? null,
        dataKeys,
      }
      rows.pa_sessions.push(
        sessionRow(sessionId, website, next.createdAt, receivedAt, attrs, next.distinctId, data),
      )
      rollback = sessions.set(sessionId, next)
    } else {
      rows.pa_events.push(
        eventRow(type, payload, {
          website,
          sessionId,
          visitId: visit.visitId,
          eventTime,
          receivedAt,
          attrs,
          distinctId,
        }),
      )
      if (!memo) {
        rows.pa_sessions.push(sessionRow(sessionId, website, eventTime, receivedAt, attrs, distinctId, null))
        rollback = sessions.set(sessionId, { createdAt: eventTime, distinctId, dataKeys: null })
      }
    }
    const response: SendResponse = {
      cache: last.signed.get([websiteAsSent, sessionId, visit.visitId, visit.iat], () =>
        signCacheToken(
          { websiteId: websiteAsSent, sessionId, visitId: visit.visitId, iat: visit.iat },
          secret,
        ),
      ),
      sessionId,
      visitId: visit.visitId,
    }
    return { kind: 'accepted', rows, response, rollback }
  }

  return { process, clientIp: resolveIp }
}

type SessionAttrs = Pick<
  SessionRow,
  'browser' | 'os' | 'device' | 'screen' | 'language' | 'country' | 'region' | 'city'
>

function sessionRow(
  sessionId: string,
  siteId: string,
  createdAt: number,
  updatedAt: number,
  attrs: SessionAttrs,
  distinctId: string | null,
  sessionData: Record<string, string> | null,
): SessionRow {
  return {
    session_id: sessionId,
    site_id: siteId,
    created_at: createdAt,
    updated_at: updatedAt,
    ...attrs,
    distinct_id: distinctId,
    session_data: sessionData,
  }
}

interface EventIds {
  website: string
  sessionId: string
  visitId: string
  eventTime: number
  receivedAt: number
  attrs: SessionAttrs
  distinctId: string | null
}

function eventRow(type: 'event' | 'performance', p: SendPayload, ids: EventIds): EventRow {
  const performance = type === 'performance'
  const page = pageColumns({
    url: p.url,
    hostname: p.hostname,
    // Umami stores no referrer/UTM for performance rows; pathname only.
    referrer: performance ? undefined : p.referrer,
    title: p.title,
    pathOnly: performance,
  })
  let eventData: Record<string, string> | null
  if (performance) {
    // pa_events has no web-vitals columns: the metrics travel in event_data under Umami's names.
    const vitals = VITALS.filter((k) => p[k] !== undefined).map((k) => [k, String(p[k])])
    eventData = vitals.length > 0 ? Object.fromEntries(vitals) : null
  } else eventData = flattenData(p.data, 'payload.data')
  const a = ids.attrs
  // One object literal with every column (no spreads): each row is built in one step with the same
  // shape, which is what JSON.stringify (the WAL) and the structured clone (the encoder) are fastest
  // on. The key order is the columns' order as before.
  return {
    site_id: ids.website,
    event_id: randomUUID(),
    session_id: ids.sessionId,
    visit_id: ids.visitId,
    event_time: ids.eventTime,
    received_at: ids.receivedAt,
    event_type: performance ? 5 : p.name ? 2 : 1,
    event_name: performance ? null : (p.name ?? null) || null,
    url_path: page.url_path,
    url_query: page.url_query,
    utm_source: performance ? null : page.utm_source,
    utm_medium: performance ? null : page.utm_medium,
    utm_campaign: performance ? null : page.utm_campaign,
    utm_content: performance ? null : page.utm_content,
    utm_term: performance ? null : page.utm_term,
    gclid: performance ? null : page.gclid,
    fbclid: performance ? null : page.fbclid,
    msclkid: performance ? null : page.msclkid,
    ttclid: performance ? null : page.ttclid,
    li_fat_id: performance ? null : page.li_fat_id,
    twclid: performance ? null : page.twclid,
    referrer_path: page.referrer_path,
    referrer_query: page.referrer_query,
    referrer_domain: page.referrer_domain,
    hostname: performance ? null : page.hostname,
    page_title: page.page_title,
    tag: performance ? null : (p.tag ?? null) || null,
    distinct_id: performance ? null : ids.distinctId,
    browser: a.browser,
    os: a.os,
    device: a.device,
    screen: a.screen,
    language: a.language,
    country: a.country,
    region: a.region,
    city: a.city,
    event_data: eventData,
    campaign_id: null,
    source: 'umami',
    sample_rate: null,
  }
}

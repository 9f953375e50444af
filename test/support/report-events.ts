/**
 * Deterministic website traffic for the reporting test and bench: N events over D days and S
 * sites, shaped like what Floe's enrichment writes for Umami's tracker, so every reporting
 * definition has something to count:
 * - site sizes follow Zipf (site 0 is the largest, about 19 % of all events for 100 sites);
 * - sessions with one or two visits (hourly visit ids), 45 % of visits bounce (one pageview),
 *   about a quarter of the sessions come back on a later day (same session id, as Umami's monthly
 *   salt gives), so visitors over a range are fewer than the sum of daily visitors;
 * - pageviews after the first in a visit have the site itself as referrer (Umami's referrer
 *   metrics must exclude them); external referrers, UTM campaigns and click ids on some visits;
 * - custom events (event_type 2) with `event_data`; a second hostname on some pageviews;
 * - one `pa_sessions` row per new session (its first event time), with session data on some.
 *
 * Generated one UTC day at a time (`generateDays`), so 10 million events never sit in memory.
 */
import type { EventRow, SessionRow } from '../../src/rows.ts'
import { eventRow, sessionRow } from './rows.ts'
import { rng } from '../write/support/event-rows.ts'

export interface TrafficOptions {
  /** Total events (pageviews + custom events), approximately (±1 %). */
  events: number
  days: number
  sites: number
  /** First day, `YYYY-MM-DD` (UTC). */
  start?: string
  seed?: number
}

export interface TrafficDay {
  /** Days since the Unix epoch. */
  day: number
  events: EventRow[]
  sessions: SessionRow[]
}

const DAY_US = 86_400_000_000

const hex8 = (r: () => number) =>
  Math.floor(r() * 2 ** 32)
    .toString(16)
    .padStart(8, '0')

/** A version-4 UUID from the generator (valid for Postgres `uuid` and Umami's zod check). */
function uuid(r: () => number): string {
  const a = hex8(r)
  const b = hex8(r)
  const c = hex8(r)
  const d = hex8(r)
  const variant = ((parseInt(c[0], 16) & 0x3) | 0x8).toString(16)
  return `${a}-${b.slice(0, 4)}-4${b.slice(5, 8)}-${variant}${c.slice(1, 4)}-${c.slice(4)}${d}`
}

const pick = <T>(r: () => number, xs: readonly T[]): T => xs[Math.floor(r() * xs.length)]

const PAGES: ReadonlyArray<readonly [path: string, title: string]> = [
  ['/', 'Home'],
  ['/pricing', 'Pricing'],
  ['/blog', 'Blog'],
  ['/blog/iceberg-for-analytics', 'Iceberg for analytics'],
  ['/blog/über-uns', 'Über uns'],
  ['/docs', 'Docs'],
  ['/docs/getting-started', 'Getting started'],
  ['/docs/api', 'API reference'],
  ['/signup', 'Sign up'],
  ['/contact', 'Contact'],
]
const REFERRERS = ['google.com', 'news.ycombinator.com', 'duckduckgo.com', 't.co', 'github.com', 'bing.com']
const CAMPAIGNS = ['spring-sale', 'launch', 'newsletter-42', 'retarget']
const EVENTS = ['signup', 'click-cta', 'download', 'play-video']
const CLIENTS = [
  ['chrome', 'Windows 10', 'desktop', '1920x1080'],
  ['chrome', 'Mac OS', 'laptop', '1440x900'],
  ['firefox', 'Linux', 'desktop', '2560x1440'],
  ['safari', 'Mac OS', 'laptop', '1440x900'],
  ['ios', 'iOS', 'mobile', '390x844'],
  ['chrome', 'Android OS', 'mobile', '412x915'],
  ['edge-chromium', 'Windows 10', 'desktop', '1920x1080'],
  ['samsung', 'Android OS', 'tablet', '800x1280'],
] as const
const LANGUAGES = ['en-US', 'en-GB', 'de-DE', 'fr-FR', 'ja-JP', 'pt-BR']
const GEO: ReadonlyArray<readonly [country: string, region: string, city: string]> = [
  ['US', 'US-CA', 'San Francisco'],
  ['US', 'US-NY', 'New York'],
  ['DE', 'DE-BE', 'Berlin'],
  ['DE', 'DE-BY', 'München'],
  ['FR', 'FR-IDF', 'Paris'],
  ['GB', 'GB-ENG', 'London'],
  ['JP', 'JP-13', 'Tōkyō'],
  ['BR', 'BR-SP', 'São Paulo'],
]

interface Visitor {
  sessionId: string
  client: (typeof CLIENTS)[number]
  language: string
  geo: (typeof GEO)[number]
  distinctId: string | null
}

/** The site ids of a traffic set, largest site first. */
export function siteIds(options: Pick<TrafficOptions, 'sites' | 'seed'>): string[] {
  const r = rng((options.seed ?? 1) * 7919)
  return Array.from({ length: options.sites }, () => uuid(r))
}

/** Each site's share of the events (Zipf, s = 1). */
export function siteShares(sites: number): number[] {
  const w = Array.from({ length: sites }, (_, i) => 1 / (i + 1))
  const sum = w.reduce((a, b) => a + b, 0)
  return w.map((x) => x / sum)
}

export const hostnameOf = (siteIndex: number) => `site${siteIndex}.example.com`

export function dayOf(date: string): number {
  return Date.parse(`${date}T00:00:00Z`) / 86_400_000
}

export function* generateDays(options: TrafficOptions): Generator<TrafficDay> {
  const sites = siteIds(options)
  const shares = siteShares(options.sites)
  const firstDay = dayOf(options.start ?? '2026-09-01')
  const seed = options.seed ?? 1
  const r = rng(seed)
  let ordinal = 0
  // Visitors seen on earlier days, per site: a quarter of each day's sessions come from here.
  const returning: Visitor[][] = sites.map(() => [])
  const perDay = options.events / options.days
  for (let d = 0; d < options.days; d++) {
    const day = firstDay + d
    const events: EventRow[] = []
    const sessions: SessionRow[] = []
    const dayStart = day * DAY_US
    // Weekends are quieter.
    const weekday = (day + 4) % 7 // 0 = Sunday
    const dayFactor = weekday === 0 || weekday === 6 ? 0.7 : 1.12
    for (let s = 0; s < sites.length; s++) {
      const siteId = sites[s]
      const hostname = hostnameOf(s)
      let target = Math.round(perDay * shares[s] * dayFactor)
      const pool = returning[s]
      while (target > 0) {
        let v: Visitor
        if (pool.length > 0 && r() < 0.25) {
          v = pool[Math.floor(r() * pool.length)]
        } else {
          v = {
            sessionId: uuid(r),
            client: pick(r, CLIENTS),
            language: pick(r, LANGUAGES),
            geo: pick(r, GEO),
            distinctId: r() < 0.1 ? `user-${Math.floor(r() * 100000)}` : null,
          }
          const created = dayStart + Math.floor(r() * (DAY_US - 3_600_000_000))
          sessions.push(
            sessionRow({
              session_id: v.sessionId,
              site_id: siteId,
              created_at: created,
              updated_at: created,
              ...clientColumns(v),
              distinct_id: v.distinctId,
              session_data: v.distinctId ? { plan: pick(r, ['free', 'pro', 'team']) } : null,
            }),
          )
          if (pool.length < 500) pool.push(v)
          else pool[Math.floor(r() * pool.length)] = v
        }
        const visits = r() < 0.8 ? 1 : 2
        for (let vi = 0; vi < visits && target > 0; vi++) {
          // Visits start on the hour's salt boundary's side Umami would give them: one visit id
          // per visit, events within the same hour-ish window.
          let t = dayStart + Math.floor(r() * (DAY_US - 3_600_000_000))
          const visitId = uuid(r)
          const pageviews = r() < 0.45 ? 1 : 2 + Math.floor(r() * 6)
          const external = r() < 0.45 ? pick(r, REFERRERS) : null
          const campaign = r() < 0.15 ? pick(r, CAMPAIGNS) : null
          const gclid = campaign && r() < 0.3 ? hex8(r) + hex8(r) : null
          let prev: (typeof PAGES)[number] | null = null
          for (let p = 0; p < pageviews && target > 0; p++) {
            const page = p === 0 && r() < 0.4 ? PAGES[0] : pick(r, PAGES)
            const host = r() < 0.1 ? `docs.${hostname}` : hostname
            const query = r() < 0.1 ? `ref=${Math.floor(r() * 20)}` : null
            events.push(
              visitorEvent(eventUuid(seed, ordinal++), siteId, v, visitId, t, 1, {
                url_path: page[0],
                url_query: p === 0 && campaign ? `utm_source=newsletter&utm_campaign=${campaign}` : query,
                page_title: page[1],
                hostname: host,
                referrer_domain: p === 0 ? external : hostname,
                referrer_path: p === 0 ? (external ? '/' : null) : prev![0],
                utm_source: p === 0 && campaign ? 'newsletter' : null,
                utm_medium: p === 0 && campaign ? 'email' : null,
                utm_campaign: p === 0 ? campaign : null,
                gclid: p === 0 ? gclid : null,
                tag: r() < 0.05 ? 'beta' : null,
              }),
            )
            target--
            prev = page
            if (r() < 0.12 && target > 0) {
              t += 1_000_000 + Math.floor(r() * 20_000_000)
              events.push(
                visitorEvent(eventUuid(seed, ordinal++), siteId, v, visitId, t, 2, {
                  url_path: page[0],
                  page_title: page[1],
                  hostname: host,
                  event_name: pick(r, EVENTS),
                  event_data: { plan: pick(r, ['free', 'pro']), 'button.id': `b${Math.floor(r() * 5)}` },
                }),
              )
              target--
            }
            t += 5_000_000 + Math.floor(r() * 115_000_000)
          }
        }
      }
    }
    yield { day, events, sessions }
  }
}

/** An event of visitor `v`: its client columns, the rest from `fields` (rows.ts fills the nulls). */
function visitorEvent(
  eventId: string,
  siteId: string,
  v: Visitor,
  visitId: string,
  t: number,
  eventType: number,
  fields: Partial<EventRow>,
): EventRow {
  return eventRow({
    site_id: siteId,
    event_id: eventId,
    session_id: v.sessionId,
    visit_id: visitId,
    event_time: t,
    received_at: t,
    event_type: eventType,
    distinct_id: v.distinctId,
    ...clientColumns(v),
    ...fields,
  })
}

function clientColumns(v: Visitor) {
  return {
    browser: v.client[0],
    os: v.client[1],
    device: v.client[2],
    screen: v.client[3],
    language: v.language,
    country: v.geo[0],
    region: v.geo[1],
    city: v.geo[2],
  }
}

/** Event ids: the event's ordinal in a v4-shaped UUID (random ids would cost 4 draws per event). */
function eventUuid(seed: number, n: number): string {
  return `${(seed >>> 0).toString(16).padStart(8, '0')}-0000-4000-8000-${n.toString(16).padStart(12, '0')}`
}

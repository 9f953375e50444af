/**
 * Realistic pa_events / pa_sessions rows for tests and bench/parquet-encode.ts: a few sites, UUID
 * ids, paths, referrers, UTM values on some rows, a map column with 0-4 entries (some null values),
 * non-ASCII text, microsecond timestamps. Deterministic for a given seed.
 */
import type { EventRow, SessionRow } from '../../../src/rows.ts'

/** mulberry32: small, fast and deterministic. */
export function rng(seed: number): () => number {
  let s = seed >>> 0
  return () => {
    s = (s + 0x6d2b79f5) >>> 0
    let t = s
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

function uuid(r: () => number): string {
  const h = Array.from({ length: 32 }, () => Math.floor(r() * 16).toString(16))
  h[12] = '4'
  return `${h.slice(0, 8).join('')}-${h.slice(8, 12).join('')}-${h.slice(12, 16).join('')}-${h.slice(16, 20).join('')}-${h.slice(20).join('')}`
}

const pick = <T>(r: () => number, xs: readonly T[]): T => xs[Math.floor(r() * xs.length)]
const maybe = <T>(r: () => number, p: number, v: () => T): T | null => (r() < p ? v() : null)

const PATHS = [
  '/',
  '/pricing',
  '/blog/iceberg-for-analytics',
  '/docs/getting-started',
  '/über-uns',
  '/checkout?step=2',
]
const TITLES = ['Home', 'Pricing — Floe', 'Iceberg for analytics', 'Getting started', 'Über uns', 'Checkout']
const REFERRERS = ['google.com', 'news.ycombinator.com', 'duckduckgo.com', 't.co', 'github.com']
const BROWSERS = ['chrome', 'firefox', 'safari', 'edge', 'ios']
const OSES = ['Windows 10', 'Mac OS', 'Linux', 'iOS', 'Android OS']
const DEVICES = ['desktop', 'laptop', 'mobile', 'tablet']
const COUNTRIES = ['DE', 'US', 'FR', 'GB', 'JP', 'BR']
const CITIES = ['Berlin', 'New York', 'Paris', 'London', 'Tōkyō', 'São Paulo']

/** `n` event rows spread over `days` days from `start` (µs) and `sites` site ids. */
export function eventRows(
  n: number,
  opts: { seed?: number; sites?: number; start?: number; days?: number } = {},
): EventRow[] {
  const r = rng(opts.seed ?? 1)
  const sites = Array.from({ length: opts.sites ?? 3 }, () => uuid(r))
  const start = opts.start ?? Date.parse('2026-11-24T00:00:00Z') * 1000
  const span = (opts.days ?? 1) * 86_400_000_000
  const sessions = Array.from({ length: Math.max(1, Math.floor(n / 8)) }, () => uuid(r))
  const rows: EventRow[] = []
  for (let i = 0; i < n; i++) {
    const t = start + Math.floor((i / n) * span) + Math.floor(r() * 1000)
    const custom = r() < 0.2
    const country = pick(r, COUNTRIES)
    const k = custom ? Math.floor(r() * 5) : 0
    let data: Record<string, string> | null = null
    if (custom) {
      data = {}
      for (let j = 0; j < k; j++)
        data[`prop.${j}`] = r() < 0.1 ? (null as unknown as string) : `v${Math.floor(r() * 100)}`
    }
    const utm = r() < 0.15
    rows.push({
      site_id: pick(r, sites),
      event_id: uuid(r),
      session_id: pick(r, sessions),
      visit_id: uuid(r),
      event_time: t,
      received_at: t + Math.floor(r() * 2_000_000),
      event_type: custom ? 2 : 1,
      event_name: custom ? pick(r, ['signup', 'click-cta', 'download', 'play-video']) : null,
      url_path: pick(r, PATHS),
      url_query: maybe(r, 0.2, () => `q=${Math.floor(r() * 1000)}`),
      page_title: pick(r, TITLES),
      hostname: 'www.example.com',
      referrer_path: maybe(r, 0.4, () => pick(r, ['/', '/search', '/item/123'])),
      referrer_query: null,
      referrer_domain: maybe(r, 0.4, () => pick(r, REFERRERS)),
      utm_source: utm ? pick(r, ['newsletter', 'twitter', 'google']) : null,
      utm_medium: utm ? pick(r, ['email', 'social', 'cpc']) : null,
      utm_campaign: utm ? `winter-${Math.floor(r() * 5)}` : null,
      utm_content: null,
      utm_term: null,
      gclid: maybe(r, 0.02, () => uuid(r).replace(/-/g, '')),
      fbclid: null,
      msclkid: null,
      ttclid: null,
      li_fat_id: null,
      twclid: null,
      tag: maybe(r, 0.05, () => 'beta'),
      distinct_id: maybe(r, 0.1, () => `user-${Math.floor(r() * 5000)}`),
      browser: pick(r, BROWSERS),
      os: pick(r, OSES),
      device: pick(r, DEVICES),
      screen: pick(r, ['1920x1080', '1440x900', '390x844', '2560x1440']),
      language: pick(r, ['en-US', 'de-DE', 'fr-FR', 'ja-JP']),
      country,
      region: `${country}-${Math.floor(r() * 9)}`,
      city: pick(r, CITIES),
      event_data: data,
      // Columns added with /v1/events (schema evolution): null for tracker events, as Floe writes them.
      campaign_id: null,
      source: null,
      sample_rate: null,
    })
  }
  return rows
}

export function sessionRows(n: number, seed = 2): SessionRow[] {
  const r = rng(seed)
  const start = Date.parse('2026-11-24T00:00:00Z') * 1000
  return Array.from({ length: n }, (_, i) => {
    const t = start + i * 1_000_003
    return {
      session_id: uuid(r),
      site_id: uuid(r),
      created_at: t,
      updated_at: t + 17,
      browser: pick(r, BROWSERS),
      os: pick(r, OSES),
      device: pick(r, DEVICES),
      screen: '1920x1080',
      language: 'en-US',
      country: pick(r, COUNTRIES),
      region: null,
      city: pick(r, CITIES),
      distinct_id: null,
      session_data: i % 3 === 0 ? { plan: 'pro', 'ä.b': 'ü' } : null,
    }
  })
}

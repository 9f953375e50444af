/**
 * A fixture of Umami tracker calls with known shape (visitors with several pageviews, referrers,
 * UTM tags, custom events with data, identify calls), sent to a running Floe, and plain-JS
 * reference answers computed from the rows read back with icebird (independent of Floe's query
 * layer and of DuckDB). Definitions are Umami's (`src/queries/sql/`), written out here.
 */
import type { EventRow } from '../../src/rows.ts'

export const UAS = [
  'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Safari/537.36',
  'Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:127.0) Gecko/20100101 Firefox/127.0',
  'Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Safari/605.1.15',
]
const PATHS = ['/', '/pricing', '/blog/one', '/blog/two', '/docs']
const REFERRERS = [
  'https://www.google.com/search?q=x',
  'https://news.ycombinator.com/item',
  'https://example.com/self',
  '',
]
const LANGS = ['en-US', 'en-GB', 'de-DE', 'fr-FR']
const SCREENS = ['1920x1080', '390x844', '2560x1440']

export interface Call {
  ip: string
  ua: string
  body: Record<string, unknown>
}

/** Deterministic pseudo-random numbers (so the fixture is the same on every run). */
function rng(seed: number) {
  let s = seed
  return () => {
    s = (s * 1103515245 + 12345) % 2147483648
    return s / 2147483648
  }
}

/**
 * `visitors` visitors spread over the `hours` before `end` (seconds since epoch), each with 1–4
 * pageviews a minute apart, sometimes a custom event and an identify call.
 */
export function fixtureCalls(siteId: string, end: number, visitors: number, hours: number, seed = 7): Call[] {
  const r = rng(seed)
  const pick = <T>(a: readonly T[]) => a[Math.floor(r() * a.length)]
  const calls: Call[] = []
  for (let v = 0; v < visitors; v++) {
    const ip = `198.51.100.${(v % 250) + 1}`
    const ua = UAS[v % UAS.length]
    const language = pick(LANGS)
    const screen = pick(SCREENS)
    let t = Math.floor(end - r() * hours * 3600)
    const views = 1 + Math.floor(r() * 4)
    const referrer = pick(REFERRERS)
    const utm =
      r() < 0.3
        ? `?utm_source=news&utm_medium=${pick(['email', 'social', 'cpc'])}&utm_campaign=${pick(['spring', 'launch'])}`
        : ''
    for (let i = 0; i < views; i++) {
      const path = pick(PATHS)
      calls.push({
        ip,
        ua,
        body: {
          type: 'event',
          payload: {
            website: siteId,
            hostname: 'example.com',
            url: `${path}${i === 0 ? utm : ''}`,
            title: `Title ${path}`,
            referrer: i === 0 ? referrer : '',
            language,
            screen,
            timestamp: t,
          },
        },
      })
      t += 60
    }
    if (r() < 0.5)
      calls.push({
        ip,
        ua,
        body: {
          type: 'event',
          payload: {
            website: siteId,
            hostname: 'example.com',
            url: '/pricing',
            name: pick(['signup', 'download']),
            data: { plan: pick(['free', 'pro']), seats: String(1 + Math.floor(r() * 3)) },
            language,
            screen,
            timestamp: t,
          },
        },
      })
    if (r() < 0.3)
      calls.push({
        ip,
        ua,
        body: {
          type: 'identify',
          payload: {
            website: siteId,
            hostname: 'example.com',
            language,
            screen,
            timestamp: t,
            data: { tier: pick(['gold', 'silver']) },
          },
        },
      })
  }
  return calls
}

export async function sendCalls(base: string, calls: readonly Call[]): Promise<void> {
  for (const c of calls) {
    const res = await fetch(`${base}/api/send`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'user-agent': c.ua, 'x-forwarded-for': c.ip },
      body: JSON.stringify(c.body),
    })
    const text = await res.text()
    if (res.status !== 200) throw new Error(`send answered ${res.status}: ${text}`)
  }
}

/** One pa_events row as icebird gives it, with `t` = event_time in ms. */
export type Ev = Omit<EventRow, 'event_data'> & { t: number; event_data: Record<string, string> | null }

export function toEv(row: Record<string, unknown>): Ev {
  const time = row.event_time
  const t =
    time instanceof Date
      ? time.getTime()
      : typeof time === 'bigint'
        ? Number(time / 1000n)
        : typeof time === 'number'
          ? time > 1e14
            ? time / 1000
            : time
          : new Date(String(time)).getTime()
  let data = row.event_data as unknown
  if (data instanceof Map) data = Object.fromEntries(data)
  else if (Array.isArray(data))
    data = Object.fromEntries(data.map((e: { key: string; value: string }) => [e.key, e.value]))
  return { ...(row as object), t, event_data: (data as Record<string, string> | null) ?? null } as Ev
}

const distinct = <T>(xs: Iterable<T>) => new Set(xs).size

/** getWebsiteStats over pageviews of [from, to] (ms, inclusive). */
export function refStats(rows: readonly Ev[], from: number, to: number) {
  const pv = rows.filter((r) => r.event_type === 1 && r.t >= from && r.t <= to)
  const groups = new Map<string, Ev[]>()
  for (const r of pv) {
    const k = `${r.session_id}|${r.visit_id}`
    groups.set(k, [...(groups.get(k) ?? []), r])
  }
  let bounces = 0
  let totaltime = 0
  for (const g of groups.values()) {
    if (g.length === 1) bounces++
    const ts = g.map((r) => r.t)
    totaltime += Math.floor((Math.max(...ts) - Math.min(...ts)) / 1000)
  }
  return {
    pageviews: pv.length,
    visitors: distinct(pv.map((r) => r.session_id)),
    visits: distinct(pv.map((r) => r.visit_id)),
    bounces,
    totaltime,
  }
}

/** Distinct sessions per value of `key(row)` among `rows` (nulls kept as null). */
export function countSessionsBy(rows: readonly Ev[], key: (r: Ev) => string | null) {
  const m = new Map<string | null, Set<string>>()
  for (const r of rows) {
    const k = key(r)
    if (!m.has(k)) m.set(k, new Set())
    m.get(k)!.add(r.session_id)
  }
  return [...m].map(([x, s]) => ({ x, y: s.size }))
}

/** Sorts {x, y} rows by y desc then x, for comparing answers whose ties may come in any order. */
export function sorted<T extends { x: string | null; y: number }>(
  rows: readonly T[],
): { x: string | null; y: number }[] {
  return rows
    .map(({ x, y }) => ({ x, y: Number(y) }))
    .sort((a, b) => b.y - a.y || String(a.x).localeCompare(String(b.x)))
}

/** Local `yyyy-MM-dd 00:00:00` of an instant in `timeZone` (Umami's day bucket). */
export function localDay(ms: number, timeZone: string): string {
  const p = new Intl.DateTimeFormat('en-CA', {
    timeZone,
    year: 'numeric',
    month: '2-digit',
    day: '2-digit',
  }).format(new Date(ms))
  return `${p} 00:00:00`
}

/**
 * Sampled rows scaled back in every Umami website API count (issue 13): rows written by Floe's
 * writer carry `sample_rate` 0.1, 0.5 or null (some sessions mixed: pageviews sampled, custom
 * events not). Expected answers are computed here in plain JS from the rows the test wrote, with
 * the estimator of docs/reporting.md ("Sampled data"): a row counts `1 / rate`; a distinct session
 * or visit counts once, `1 / the largest rate among its rows` in what is counted. One small site is
 * also checked against numbers worked out by hand.
 */
import { mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { loadConfig } from '../../src/config.ts'
import { createCatalog } from '../../src/commit/index.ts'
import { openFileIO, openSql } from '../../src/storage/index.ts'
import { createTableWriter } from '../../src/write/append.ts'
import { QueryLayer } from '../../src/report/query-layer.ts'
import { UmamiQueries, type QueryScope } from '../../src/report/umami/queries.ts'
// Umami's channel rules classify; the counting checked here is this file's own.
import { channelOf } from '../../src/report/umami/channels.ts'
import type { Catalog } from '../../src/table/index.ts'
import type { SqlClient } from '../../src/storage/sql.ts'
import type { EventRow, SessionRow } from '../../src/rows.ts'
import { createTestDatabase } from '../support/pg.ts'
import { eventRow, sessionRow, SITES } from '../support/rows.ts'

const T = Date.UTC(2026, 10, 20) // ms
const MIN = 60_000
const [SITE, SMALL] = SITES

let db: { url: string; drop: () => Promise<void> }
let sql: SqlClient
let catalog: Catalog
let layer: QueryLayer
let queries: UmamiQueries
const events: EventRow[] = []
const sessions: SessionRow[] = []

const scope = (siteId: string): QueryScope => ({
  siteId,
  range: { startDate: new Date(T), endDate: new Date(T + 86_400_000 - 1), unit: 'hour', timezone: 'UTC' },
  filters: [],
  match: 'all',
})

/** Deterministic pseudo-random numbers, so the fixture is the same on every run. */
function rng(seed: number) {
  let s = seed
  return () => {
    s = (s * 1103515245 + 12345) % 2147483648
    return s / 2147483648
  }
}

/**
 * 60 sessions of SITE: each is sampled at 0.1, 0.5, not at all, or mixed (pageviews at 0.1,
 * custom events unsampled), with 1–2 visits of 1–4 pageviews, sometimes a custom event with data
 * and session data.
 */
function buildFixture() {
  const r = rng(13)
  const pick = <T>(a: readonly T[]) => a[Math.floor(r() * a.length)]
  for (let s = 0; s < 60; s++) {
    const session_id = `sess-${s}`
    const kind = pick(['0.1', '0.5', 'none', 'mixed'] as const)
    const pvRate = kind === '0.1' || kind === 'mixed' ? 0.1 : kind === '0.5' ? 0.5 : null
    const evRate = kind === 'mixed' ? null : pvRate
    const browser = pick(['chrome', 'firefox', 'safari'])
    const country = pick(['DE', 'FR'])
    let t = T + Math.floor(r() * 20 * 60) * MIN
    const visits = 1 + Math.floor(r() * 2)
    for (let v = 0; v < visits; v++) {
      const visit_id = `${session_id}-v${v}`
      /** A row of this visit at `t`; the next one comes a minute later. */
      const push = (fields: Partial<EventRow>) => {
        const at = t * 1000
        events.push(
          eventRow({
            site_id: SITE,
            session_id,
            visit_id,
            event_time: at,
            received_at: at,
            browser,
            country,
            ...fields,
          }),
        )
        t += MIN
      }
      const views = 1 + Math.floor(r() * 4)
      for (let i = 0; i < views; i++)
        push({
          event_type: 1,
          url_path: pick(['/', '/pricing', '/docs']),
          referrer_domain: i === 0 ? pick(['www.google.com', 'news.ycombinator.com', null]) : null,
          sample_rate: pvRate,
        })
      if (r() < 0.5)
        push({
          event_type: 2,
          event_name: pick(['signup', 'download']),
          url_path: '/pricing',
          event_data: { plan: pick(['free', 'pro']) },
          sample_rate: evRate,
        })
      t += 2 * 3600_000 // the next visit starts hours later
    }
    if (r() < 0.5)
      sessions.push(
        sessionRow({
          site_id: SITE,
          session_id,
          created_at: T * 1000,
          updated_at: T * 1000,
          browser,
          session_data: { tier: pick(['gold', 'silver']) },
        }),
      )
  }
  // SMALL: A (rate 0.1) 3 pageviews in one visit, B (0.5) 1 pageview, C (not sampled) 2 pageviews.
  const small = (session: string, rate: number | null, n: number) => {
    for (let i = 0; i < n; i++)
      events.push(
        eventRow({
          site_id: SMALL,
          session_id: session,
          visit_id: `${session}-v`,
          event_time: (T + 3600_000 + i * MIN) * 1000,
          received_at: (T + 3600_000 + i * MIN) * 1000,
          event_type: 1,
          url_path: '/',
          sample_rate: rate,
        }),
      )
  }
  small('A', 0.1, 3)
  small('B', 0.5, 1)
  small('C', null, 2)
}

// --- the reference estimator, in plain JS -------------------------------------------------------

const rateOf = (e: EventRow) => e.sample_rate ?? 1
/** Rows, each counting 1 / its rate. */
const weighted = (rows: readonly EventRow[]) => rows.reduce((n, e) => n + 1 / rateOf(e), 0)
/** Distinct keys, each counting 1 / the largest rate among its rows. */
function weightedDistinct(rows: readonly EventRow[], key: (e: EventRow) => string | null): number {
  const best = new Map<string, number>()
  for (const e of rows) {
    const k = key(e)
    if (k !== null) best.set(k, Math.max(best.get(k) ?? 0, rateOf(e)))
  }
  return [...best.values()].reduce((n, r) => n + 1 / r, 0)
}
function groupBy<K>(rows: readonly EventRow[], key: (e: EventRow) => K): Map<K, EventRow[]> {
  const m = new Map<K, EventRow[]>()
  for (const e of rows) m.set(key(e), [...(m.get(key(e)) ?? []), e])
  return m
}
const ofSite = (site: string) => events.filter((e) => e.site_id === site)
const pageviews = (site: string) => ofSite(site).filter((e) => e.event_type === 1)
const customEvents = (site: string) => ofSite(site).filter((e) => e.event_type === 2)

/**
 * getWebsiteStats' numbers over `rows`, weighted: visits are (session, visit) groups; a visit
 * bounces with one row; its bounce and duration count by its weight.
 */
function refStats(rows: readonly EventRow[]) {
  let bounces = 0
  let totaltime = 0
  for (const g of groupBy(rows, (e) => `${e.session_id}|${e.visit_id}`).values()) {
    const w = 1 / Math.max(...g.map(rateOf))
    if (g.length === 1) bounces += w
    const ts = g.map((e) => e.event_time / 1000)
    totaltime += Math.floor((Math.max(...ts) - Math.min(...ts)) / 1000) * w
  }
  return {
    pageviews: Math.round(weighted(rows)),
    visitors: Math.round(weightedDistinct(rows, (e) => e.session_id)),
    visits: Math.round(weightedDistinct(rows, (e) => e.visit_id)),
    bounces: Math.round(bounces),
    totaltime: Math.round(totaltime),
  }
}

/** Umami's bucket label (`yyyy-MM-dd HH:mm:ss`, UTC) of a row's hour. */
const hourOf = (e: EventRow) =>
  new Date(Math.floor(e.event_time / 3600_000_000) * 3600_000).toISOString().slice(0, 19).replace('T', ' ')

const byY = <T extends { y: number }>(rows: T[], name: (r: T) => string) =>
  [...rows].sort((a, b) => b.y - a.y || name(a).localeCompare(name(b)))

beforeAll(async () => {
  db = await createTestDatabase('scaling_sampled')
  const config = loadConfig({
    DATABASE_URL: db.url,
    APP_SECRET: 's',
    FLOE_DATA_DIR: mkdtempSync(path.join(tmpdir(), 'floe-sampled-')),
  })
  sql = await openSql(config)
  const io = openFileIO(config)
  catalog = await createCatalog(config, { sql, io })
  const writer = createTableWriter({ catalog, io, config })
  await writer.ensureTables()
  buildFixture()
  await writer.append('pa_events', events)
  await writer.append('pa_sessions', sessions)
  layer = await QueryLayer.open({
    catalog,
    io,
    namespace: ['analytics'],
    config: config.report,
    live: { pending: () => ({ writerId: 'test-writer', entries: [] }) },
  })
  queries = new UmamiQueries(layer)
}, 60_000)

afterAll(async () => {
  layer?.close()
  await catalog?.close()
  await sql?.close()
  await db?.drop()
})

describe('a fixture worked out by hand', () => {
  it('stats: A (0.1, 3 pageviews) + B (0.5, 1) + C (unsampled, 2)', async () => {
    // pageviews 3/0.1 + 1/0.5 + 2 = 34; visitors = visits = 10 + 2 + 1 = 13; B's visit bounced: 2;
    // totaltime: A spans 120 s × 10 + C 60 s × 1 = 1260.
    expect(refStats(pageviews(SMALL))).toEqual({
      pageviews: 34,
      visitors: 13,
      visits: 13,
      bounces: 2,
      totaltime: 1260,
    })
    expect(await queries.stats(scope(SMALL))).toEqual({
      pageviews: 34,
      visitors: 13,
      visits: 13,
      bounces: 2,
      totaltime: 1260,
    })
  })
})

describe('every count scaled, against the plain-JS estimator', () => {
  it('the fixture has rows at 0.1, 0.5 and unsampled, and mixed sessions', () => {
    const rates = new Set(ofSite(SITE).map((e) => e.sample_rate))
    expect(rates).toEqual(new Set([0.1, 0.5, null]))
    const mixed = [...groupBy(ofSite(SITE), (e) => e.session_id).values()].filter(
      (g) => new Set(g.map((e) => e.sample_rate)).size > 1,
    )
    expect(mixed.length).toBeGreaterThan(0)
  })

  it('stats (pageviews, visitors, visits, bounces, totaltime)', async () => {
    const ref = refStats(pageviews(SITE))
    expect(ref.pageviews).toBeGreaterThan(pageviews(SITE).length) // scaling changed the answer
    expect(await queries.stats(scope(SITE))).toEqual(ref)
  })

  it('pageviews and sessions per hour', async () => {
    const buckets = [...groupBy(pageviews(SITE), hourOf)].sort(([a], [b]) => a.localeCompare(b))
    expect(await queries.pageviewSeries(scope(SITE))).toEqual({
      pageviews: buckets.map(([h, g]) => ({ x: h, y: Math.round(weighted(g)) })),
      sessions: buckets.map(([h, g]) => ({
        x: h,
        y: Math.round(weightedDistinct(g, (e) => e.session_id)),
      })),
    })
  })

  it('metrics: visitors per path, browser, country and event name', async () => {
    const o = { limit: 100, offset: 0 }
    const per = (rows: EventRow[], key: (e: EventRow) => string | null) =>
      byY(
        [...groupBy(rows, key)].map(([x, g]) => ({
          x,
          y: Math.round(weightedDistinct(g, (e) => e.session_id)),
        })),
        (r) => String(r.x),
      )
    const answer = async (type: 'path' | 'browser' | 'country' | 'event') =>
      byY(
        (await queries.metrics(scope(SITE), type, o)).map(({ x, y }) => ({ x, y })),
        (r) => String(r.x),
      )
    expect(await answer('path')).toEqual(per(pageviews(SITE), (e) => e.url_path))
    expect(await answer('browser')).toEqual(per(pageviews(SITE), (e) => e.browser))
    expect(await answer('country')).toEqual(per(pageviews(SITE), (e) => e.country))
    expect(await answer('event')).toEqual(per(customEvents(SITE), (e) => e.event_name))
  })

  it('metrics: visitors per channel (per referrer/query pair, summed per channel, then rounded)', async () => {
    const perChannel = new Map<string, number>()
    for (const g of groupBy(ofSite(SITE), (e) => `${e.referrer_domain}|${e.url_query}`).values()) {
      const c = channelOf(g[0].referrer_domain, g[0].url_query)
      if (c) perChannel.set(c, (perChannel.get(c) ?? 0) + weightedDistinct(g, (e) => e.session_id))
    }
    const got = await queries.metrics(scope(SITE), 'channel', { limit: 100, offset: 0 })
    const nonZero = got.filter((r) => r.y > 0)
    expect(nonZero.length).toBeGreaterThan(1)
    expect(byY(nonZero, (r) => String(r.x))).toEqual(
      byY(
        [...perChannel].map(([x, y]) => ({ x, y: Math.round(y) })),
        (r) => r.x,
      ),
    )
  })

  it('metrics/expanded per path', async () => {
    const rows = ofSite(SITE).filter((e) => e.event_type !== 2)
    const ref = [...groupBy(rows, (e) => e.url_path!)].map(([name, g]) => ({ name, ...refStats(g) }))
    const got = await queries.expandedMetrics(scope(SITE), 'path', { limit: 100, offset: 0 })
    const key = (r: { name: string }) => r.name
    expect([...got].sort((a, b) => key(a).localeCompare(key(b)))).toEqual(
      ref.sort((a, b) => key(a).localeCompare(key(b))),
    )
  })

  it('active visitors (the 5 minutes up to a sampled visit)', async () => {
    const sampled = ofSite(SITE).find((e) => e.sample_rate === 0.1)!
    const now = new Date(sampled.event_time / 1000 + 2 * MIN)
    const recent = ofSite(SITE).filter(
      (e) => e.event_time / 1000 >= now.getTime() - 5 * MIN && e.event_time / 1000 <= now.getTime(),
    )
    const visitors = Math.round(weightedDistinct(recent, (e) => e.session_id))
    expect(visitors).toBeGreaterThan(new Set(recent.map((e) => e.session_id)).size)
    expect(await queries.active(SITE, now)).toEqual({ visitors })
  })

  it('events series and stats', async () => {
    const series = [...groupBy(customEvents(SITE), (e) => `${e.event_name}|${hourOf(e)}`).values()].map(
      (g) => ({
        x: g[0].event_name!,
        t: hourOf(g[0]),
        y: Math.round(weighted(g)),
      }),
    )
    const order = (a: { x: string; t: string }, b: { x: string; t: string }) =>
      a.t.localeCompare(b.t) || a.x.localeCompare(b.x)
    expect(await queries.eventSeries(scope(SITE))).toEqual(series.sort(order))
    const ev = customEvents(SITE)
    expect(await queries.eventStats(scope(SITE))).toEqual({
      events: Math.round(weighted(ev)),
      visitors: Math.round(weightedDistinct(ev, (e) => e.session_id)),
      visits: Math.round(weightedDistinct(ev, (e) => e.visit_id)),
      uniqueEvents: new Set(ev.map((e) => e.event_name)).size,
    })
  })

  it('sessions stats (all rows: a mixed session counts by its unsampled events)', async () => {
    const all = ofSite(SITE)
    expect(await queries.sessionStats(scope(SITE))).toEqual({
      pageviews: Math.round(weighted(all)),
      visitors: Math.round(weightedDistinct(all, (e) => e.session_id)),
      visits: Math.round(weightedDistinct(all, (e) => e.visit_id)),
      countries: new Set(all.map((e) => e.country)).size,
      events: Math.round(weighted(customEvents(SITE))),
    })
  })

  it('event-data properties and values', async () => {
    const ev = customEvents(SITE)
    const props = [...groupBy(ev, (e) => e.event_name!)].map(([eventName, g]) => ({
      eventName,
      propertyName: 'plan',
      dataType: 1,
      total: Math.round(weighted(g)),
    }))
    const byName = (a: { eventName: string }, b: { eventName: string }) =>
      a.eventName.localeCompare(b.eventName)
    expect((await queries.eventDataProperties(scope(SITE))).sort(byName)).toEqual(props.sort(byName))
    const signups = ev.filter((e) => e.event_name === 'signup')
    const values = [...groupBy(signups, (e) => e.event_data!.plan)].map(([value, g]) => ({
      value,
      total: Math.round(weighted(g)),
    }))
    const byValue = (a: { value: string }, b: { value: string }) => a.value.localeCompare(b.value)
    expect((await queries.eventDataValues(scope(SITE), 'signup', 'plan')).sort(byValue)).toEqual(
      values.sort(byValue),
    )
  })

  it('session-data properties and values: each session once, by its largest rate', async () => {
    const all = ofSite(SITE)
    const withData = (s: SessionRow) => all.filter((e) => e.session_id === s.session_id)
    const weightOf = (s: SessionRow) => 1 / Math.max(...withData(s).map(rateOf))
    const total = (ss: SessionRow[]) => Math.round(ss.reduce((n, s) => n + weightOf(s), 0))
    expect(await queries.sessionDataProperties(scope(SITE))).toEqual([
      { propertyName: 'tier', total: total(sessions) },
    ])
    const values = [...new Set(sessions.map((s) => s.session_data!.tier))].map((value) => ({
      value,
      total: total(sessions.filter((s) => s.session_data!.tier === value)),
    }))
    const byValue = (a: { value: string }, b: { value: string }) => a.value.localeCompare(b.value)
    expect((await queries.sessionDataValues(scope(SITE), 'tier')).sort(byValue)).toEqual(values.sort(byValue))
  })
})

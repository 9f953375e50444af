/**
 * Floe's reporting answers against **Umami itself**: the same generated traffic is written into
 * Floe's tables through Floe's own writer (then compacted) and into Umami's schema on Postgres
 * (test/support/umami-postgres.ts: Umami v3's tables and indexes, and Umami's own SQL for stats,
 * pageviews and metrics). Floe runs in this process on a real Postgres catalog and an s3rver
 * warehouse; it is asked through `@umami/api-client` (Umami's website API) and over HTTP (the
 * /v1 API with a read key). Every answer must equal what Umami's SQL returns on Postgres.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { UmamiClient } from '@umami/api-client'
import type { FloeApp } from '../../src/app.ts'
import { loadConfig } from '../../src/config.ts'
import { openFileIO, openSql } from '../../src/storage/index.ts'
import { createCatalog } from '../../src/commit/index.ts'
import { createTableWriter } from '../../src/write/append.ts'
import { SiteStore } from '../../src/sites/store.ts'
import { freePort } from '../support/s3.ts'
import { createTestDatabase } from '../support/pg.ts'
import { ADMIN_TOKEN, floeEnv, startInProcess, startServices, type Services } from '../e2e/support.ts'
import { loadTraffic } from '../support/report-fixture.ts'
import { dayOf, siteIds } from '../support/report-events.ts'
import { UmamiPostgres, type MetricRow, type UmamiFilters, type XY } from '../support/umami-postgres.ts'

const TRAFFIC = { events: 6000, days: 12, sites: 3, start: '2026-09-01', seed: 11 }
const SITES = siteIds(TRAFFIC)
const SITE = SITES[0]
const DAY_MS = 86_400_000
const first = dayOf(TRAFFIC.start) * DAY_MS
/** Days 2..9: a range that starts and ends inside the data. */
const startAt = first + 2 * DAY_MS
const endAt = first + 10 * DAY_MS - 1
const range = { startAt, endAt }
const umamiRange: UmamiFilters = { startDate: new Date(startAt), endDate: new Date(endAt) }

let services: Services
let umamiDb: { url: string; drop: () => Promise<void> }
let umami: UmamiPostgres
let app: FloeApp
let base: string
let readKey: string
let otherReadKey: string
let writeKey: string

async function createKey(site: string, kind: 'read' | 'write'): Promise<string> {
  const res = await fetch(`${base}/api/sites/${site}/keys`, {
    method: 'POST',
    headers: { authorization: `Bearer ${ADMIN_TOKEN}`, 'content-type': 'application/json' },
    body: JSON.stringify({ kind }),
  })
  expect(res.status).toBe(201)
  return ((await res.json()) as { token: string }).token
}

async function v1(
  path: string,
  query: Record<string, string>,
  token: string | null = readKey,
): Promise<{ status: number; body: Record<string, unknown> }> {
  const res = await fetch(`${base}/v1/properties/${path}?${new URLSearchParams(query)}`, {
    headers: token ? { authorization: `Bearer ${token}` } : {},
  })
  return { status: res.status, body: (await res.json()) as Record<string, unknown> }
}

const client = () => new UmamiClient({ baseUrl: `${base}/api`, apiKey: readKey })
const byX = (rows: ReadonlyArray<MetricRow | XY>) =>
  [...rows].map((r) => ({ x: r.x, y: Number(r.y) })).sort((a, b) => String(a.x).localeCompare(String(b.x)))
const v1Range = { from: new Date(startAt).toISOString(), to: new Date(endAt).toISOString() }

beforeAll(async () => {
  services = await startServices('reporting_v1_floe')
  umamiDb = await createTestDatabase('reporting_v1_umami')
  umami = await UmamiPostgres.open(umamiDb.url)
  const port = await freePort()
  const env = {
    ...floeEnv({ databaseUrl: services.db.url, s3: services.s3, port }),
    FLOE_MAINTENANCE_INTERVAL_SECONDS: '0',
  }
  ;({ app, base } = await startInProcess(env))
  // The generated sites, under their ids, in Floe's site table.
  const config = loadConfig(env)
  const sql = await openSql(config)
  const sites = await SiteStore.open(sql)
  for (const id of SITES) await sites.create({ name: `site ${id}`, domains: ['example.com'] }, id)
  // The traffic through Floe's writer (the app's own catalog and warehouse), and into Umami's tables.
  const io = openFileIO(config)
  const catalog = await createCatalog(config, { sql, io, warn: () => {} })
  const writer = createTableWriter({ catalog, io, config })
  const loaded = await loadTraffic(
    { writer, catalog, io, namespace: config.iceberg.namespace.split('.'), umami },
    TRAFFIC,
  )
  expect(loaded.compaction.filesWritten).toBeGreaterThan(0)
  await catalog.close()
  await sql.close()
  readKey = await createKey(SITE, 'read')
  otherReadKey = await createKey(SITES[1], 'read')
  writeKey = await createKey(SITE, 'write')
}, 240_000)

afterAll(async () => {
  await app?.close()
  await umami?.close()
  await umamiDb?.drop()
  await services?.close()
})

/** Umami's filters as both sides take them (the query parameter form). */
const FILTERS: Array<Record<string, string>> = [
  {},
  { path: '/pricing' },
  { path: 'c.blog' },
  { path: 'dnc.docs' },
  { browser: 'chrome' },
  { browser: 'neq.chrome' },
  { country: 'DE', path: '/' },
  { referrer: 'google.com' },
  { os: 'c.Mac' },
  { hostname: `docs.site0.example.com` },
  { title: 'c.über' },
  { language: 'de-DE' },
  { city: 'Berlin', device: 'desktop' },
  { utmCampaign: 'launch' },
]
const label = (f: Record<string, string>) => JSON.stringify(f)

describe("Umami's website API equals Umami's SQL on Postgres", () => {
  it.each(FILTERS.map((f) => [label(f), f]))('stats %s', async (_l, f) => {
    const floe = (await client().getWebsiteStats(SITE, { ...range, ...f })) as Record<string, unknown>
    const ref = await umami.getWebsiteStats(SITE, { ...umamiRange, ...f })
    expect(ref.pageviews).toBeGreaterThan(0)
    expect({
      pageviews: floe.pageviews,
      visitors: floe.visitors,
      visits: floe.visits,
      bounces: floe.bounces,
      totaltime: floe.totaltime,
    }).toEqual(ref)
  })

  it.each([
    ['day', 'UTC', {}],
    ['day', 'America/New_York', {}],
    ['hour', 'Europe/Berlin', { browser: 'firefox' }],
    ['day', 'Asia/Tokyo', { path: 'c.docs' }],
  ] as const)('pageviews by %s in %s %j', async (unit, timezone, f) => {
    const q = unit === 'hour' ? { startAt, endAt: startAt + 2 * DAY_MS - 1 } : range
    const floe = (await client().getWebsitePageviews(SITE, { ...q, unit, timezone, ...f })) as {
      pageviews: XY[]
      sessions: XY[]
    }
    const uf = { startDate: new Date(q.startAt), endDate: new Date(q.endAt), unit, timezone, ...f }
    expect(floe.pageviews.map((r) => ({ x: r.x, y: Number(r.y) }))).toEqual(
      await umami.getPageviewStats(SITE, uf),
    )
    expect(floe.sessions.map((r) => ({ x: r.x, y: Number(r.y) }))).toEqual(
      await umami.getSessionStats(SITE, uf),
    )
  })

  const TYPES = [
    'path',
    'entry',
    'exit',
    'referrer',
    'title',
    'query',
    'event',
    'hostname',
    'tag',
    'browser',
    'os',
    'device',
    'screen',
    'language',
    'country',
    'region',
    'city',
  ]
  it.each(TYPES)('metrics type=%s', async (type) => {
    const floe = (await client().getWebsiteMetrics(SITE, { ...range, type })) as MetricRow[]
    const ref = await umami.getMetrics(SITE, type, umamiRange)
    expect(ref.length).toBeGreaterThan(0)
    expect(byX(floe)).toEqual(byX(ref))
  })

  it.each([
    ['path', { browser: 'safari' }],
    ['browser', { path: 'c.blog' }],
    ['country', { referrer: 'github.com' }],
    ['entry', { device: 'mobile' }],
  ] as const)('metrics type=%s with %j', async (type, f) => {
    const floe = (await client().getWebsiteMetrics(SITE, { ...range, type, ...f })) as MetricRow[]
    expect(byX(floe)).toEqual(byX(await umami.getMetrics(SITE, type, { ...umamiRange, ...f })))
  })
})

describe("the /v1 API equals Umami's SQL on Postgres", () => {
  it('overview = website stats', async () => {
    const { status, body } = await v1(`${SITE}/overview`, v1Range)
    expect(status).toBe(200)
    const ref = await umami.getWebsiteStats(SITE, umamiRange)
    expect(body).toMatchObject({
      property_id: SITE,
      pageviews: ref.pageviews,
      unique_visitors: ref.visitors,
      sessions: ref.visits,
      bounces: ref.bounces,
      total_time: ref.totaltime,
    })
    expect(body.bounce_rate).toBeCloseTo(ref.bounces / ref.visits, 12)
    expect(body.avg_session_seconds).toBeCloseTo(ref.totaltime / ref.visits, 9)
  })

  it('pages: unique visitors per path = path metrics; pageviews per path = stats filtered by path', async () => {
    const { status, body } = await v1(`${SITE}/pages`, { ...v1Range, limit: '100' })
    expect(status).toBe(200)
    const pages = body.pages as Array<{
      path: string
      pageviews: number
      unique_visitors: number
      sessions: number
    }>
    const ref = await umami.getMetrics(SITE, 'path', umamiRange)
    expect(byX(pages.map((p) => ({ x: p.path, y: p.unique_visitors })))).toEqual(byX(ref))
    for (const p of pages.slice(0, 3)) {
      const s = await umami.getWebsiteStats(SITE, { ...umamiRange, path: `eq.${p.path}` })
      expect([p.pageviews, p.unique_visitors, p.sessions]).toEqual([s.pageviews, s.visitors, s.visits])
    }
    // Most viewed first.
    expect(pages.map((p) => p.pageviews)).toEqual([...pages.map((p) => p.pageviews)].sort((a, b) => b - a))
  })

  it('campaigns: per utm_campaign (rows written without a campaign id) = stats filtered by it', async () => {
    const { status, body } = await v1(`${SITE}/campaigns`, v1Range)
    expect(status).toBe(200)
    const campaigns = body.campaigns as Array<Record<string, number | string>>
    expect(campaigns.map((c) => c.campaign).sort()).toEqual([
      'launch',
      'newsletter-42',
      'retarget',
      'spring-sale',
    ])
    for (const c of campaigns) {
      const s = await umami.getWebsiteStats(SITE, { ...umamiRange, utmCampaign: `eq.${c.campaign}` })
      expect(c).toEqual({
        campaign: c.campaign,
        pageviews: s.pageviews,
        unique_visitors: s.visitors,
        sessions: s.visits,
        bounces: s.bounces,
      })
    }
  })

  it.each([
    ['day', 'UTC'],
    ['day', 'America/New_York'],
    ['hour', 'Asia/Kolkata'],
  ] as const)(
    'metrics interval=%s timezone=%s = pageviews and sessions series',
    async (interval, timezone) => {
      const to = interval === 'hour' ? new Date(startAt + 2 * DAY_MS - 1) : new Date(endAt)
      const { status, body } = await v1(`${SITE}/metrics`, {
        from: v1Range.from,
        to: to.toISOString(),
        interval,
        timezone,
        metrics: 'pageviews,unique_visitors,sessions',
      })
      expect(status).toBe(200)
      expect(body.truncated).toBe(false)
      const rows = body.rows as Array<{ time: string; pageviews: number; unique_visitors: number }>
      // Umami labels a bucket with its local start, `YYYY-MM-DD HH:00:00`.
      const local = (iso: string) =>
        new Intl.DateTimeFormat('sv-SE', { timeZone: timezone, dateStyle: 'short', timeStyle: 'medium' })
          .format(new Date(iso))
          .replace(/:\d\d:\d\d$/, ':00:00')
      const uf = { startDate: new Date(startAt), endDate: to, unit: interval, timezone }
      expect(rows.map((r) => ({ x: local(r.time), y: r.pageviews }))).toEqual(
        await umami.getPageviewStats(SITE, uf),
      )
      expect(rows.map((r) => ({ x: local(r.time), y: r.unique_visitors }))).toEqual(
        await umami.getSessionStats(SITE, uf),
      )
    },
  )

  it('metrics group_by=path,country: each (path, country) total = stats filtered by both', async () => {
    const { body } = await v1(`${SITE}/metrics`, {
      ...v1Range,
      interval: 'day',
      metrics: 'pageviews,unique_visitors,sessions,bounces,total_time',
      group_by: 'path,country',
    })
    const rows = body.rows as Array<Record<string, string | number>>
    expect(rows.length).toBeGreaterThan(0)
    const day = rows.filter((r) => r.time === rows[0].time && r.path === '/' && r.country === 'DE')
    expect(day).toHaveLength(1)
    const dayStart = new Date(String(rows[0].time))
    const dayEnd = new Date(Math.min(dayStart.getTime() + DAY_MS - 1, endAt))
    const s = await umami.getWebsiteStats(SITE, {
      startDate: new Date(Math.max(dayStart.getTime(), startAt)),
      endDate: dayEnd,
      path: '/',
      country: 'DE',
    })
    expect(day[0]).toMatchObject({
      pageviews: s.pageviews,
      unique_visitors: s.visitors,
      sessions: s.visits,
      bounces: s.bounces,
      total_time: s.totaltime,
    })
  })
})

describe('/v1 refuses', () => {
  it('no key (401), another site key or a write key (403), an unknown site (404)', async () => {
    expect((await v1(`${SITE}/overview`, v1Range, null)).status).toBe(401)
    expect((await v1(`${SITE}/overview`, v1Range, 'floe_read_nope')).status).toBe(401)
    expect((await v1(`${SITE}/overview`, v1Range, otherReadKey)).status).toBe(403)
    expect((await v1(`${SITE}/overview`, v1Range, writeKey)).status).toBe(403)
    expect((await v1(`${SITES[1]}/overview`, v1Range, otherReadKey)).status).toBe(200)
    const unknown = await v1('00000000-0000-4000-8000-000000000000/overview', v1Range, ADMIN_TOKEN)
    expect(unknown.status).toBe(404)
  })

  it.each([
    ['overview', { from: 'yesterday', to: v1Range.to }, 'from'],
    ['overview', { from: '2026-02-31', to: v1Range.to }, 'from'],
    ['overview', { from: v1Range.to, to: v1Range.from }, 'to'],
    ['overview', { from: '2020-01-01', to: '2026-01-01' }, 'to'],
    ['overview', { ...v1Range, timezone: 'Mars/Olympus' }, 'timezone'],
    ['overview', { to: v1Range.to }, 'querystring.from'],
    ['pages', { ...v1Range, limit: '0' }, 'querystring.limit'],
    ['pages', { ...v1Range, limit: '10001' }, 'querystring.limit'],
    ['metrics', { ...v1Range }, 'querystring.interval'],
    ['metrics', { ...v1Range, interval: 'week' }, 'querystring.interval'],
    ['metrics', { ...v1Range, interval: 'day', metrics: 'pageviews,clicks' }, 'metrics'],
    ['metrics', { ...v1Range, interval: 'day', group_by: 'path,shoe_size' }, 'group_by'],
  ] as const)('%s %j: 400 naming %s', async (endpoint, q, field) => {
    const { status, body } = await v1(`${SITE}/${endpoint}`, q as Record<string, string>)
    expect(status).toBe(400)
    expect((body as { error: { field: string; code: string } }).error).toMatchObject({
      field,
      code: 'bad-request',
    })
  })
})

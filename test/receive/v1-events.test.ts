/**
 * `POST /v1/events` through the real receiver (real Postgres site store, the real enrichment, geo
 * from the bundled GeoLite2 database), the rows captured at the sink: the envelope's fields land
 * in the right columns, each event is answered on its own, unknown fields are tolerated, and only
 * the envelope itself fails the request (400 naming the field).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { CHROME_UA, startTestReceiver, type TestReceiver } from './support.ts'

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

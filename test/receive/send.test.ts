import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startTestReceiver, CHROME_UA, IPHONE_UA, type TestReceiver } from './support.ts'
import { verifyCacheToken } from '../../src/enrich/cache-token.ts'
import { secretHash } from '../../src/enrich/hash.ts'

let r: TestReceiver
let siteId: string

beforeAll(async () => {
  r = await startTestReceiver({}, { withGeo: true })
  siteId = (await r.sites.create({ name: 'Example', domains: ['example.com'] })).id
})
afterAll(() => r.close())

const send = (payload: Record<string, unknown>, headers: Record<string, string> = {}, type = 'event') =>
  r.app.inject({
    method: 'POST',
    url: '/api/send',
    headers: {
      'content-type': 'application/json',
      'user-agent': CHROME_UA,
      'x-forwarded-for': '81.2.69.160',
      ...headers,
    },
    payload: JSON.stringify({ type, payload }),
  })

describe('POST /api/send', () => {
  it('stores a pageview with enrichment and answers {cache, sessionId, visitId}', async () => {
    const before = r.sink.events.length
    const res = await send({
      website: siteId,
      url: 'https://www.example.com/blog/post/?utm_source=google%20ads&gclid=abc#top',
      hostname: 'www.example.com',
      referrer: 'https://www.google.com/search?q=x',
      screen: '1440x900',
      language: 'en-US',
      title: 'Hello',
    })
    expect(res.statusCode).toBe(200)
    const body = res.json()
    expect(Object.keys(body).sort()).toEqual(['cache', 'sessionId', 'visitId'])
    const token = verifyCacheToken(body.cache, secretHash('test-secret'))
    expect(token).toMatchObject({ websiteId: siteId, sessionId: body.sessionId, visitId: body.visitId })
    const ev = r.sink.events[before]
    expect(ev).toMatchObject({
      site_id: siteId,
      session_id: body.sessionId,
      visit_id: body.visitId,
      event_type: 1,
      url_path: '/blog/post/#top',
      url_query: 'utm_source=google%20ads&gclid=abc',
      utm_source: 'google ads',
      gclid: 'abc',
      hostname: 'www.example.com',
      referrer_domain: 'google.com',
      referrer_path: '/search',
      referrer_query: 'q=x',
      browser: 'chrome',
      os: 'Windows 10',
      device: 'laptop',
      country: 'GB',
      city: 'Bracknell',
      page_title: 'Hello',
    })
    expect(r.sink.sessions.some((s) => s.session_id === body.sessionId)).toBe(true)
  })

  it('keeps the visit with the returned cache token and emits the session row once', async () => {
    const first = (await send({ website: siteId, url: '/a' }, { 'user-agent': IPHONE_UA })).json()
    const sessionsBefore = r.sink.sessions.filter((s) => s.session_id === first.sessionId).length
    const second = (
      await send({ website: siteId, url: '/b' }, { 'user-agent': IPHONE_UA, 'x-umami-cache': first.cache })
    ).json()
    expect(second.sessionId).toBe(first.sessionId)
    expect(second.visitId).toBe(first.visitId)
    expect(r.sink.sessions.filter((s) => s.session_id === first.sessionId).length).toBe(sessionsBefore)
    expect(r.sink.events.at(-1)).toMatchObject({ device: 'mobile', browser: 'ios', url_path: '/b' })
  })

  it('answers bots with 200 beep/boop and stores nothing', async () => {
    const before = r.sink.batches.length
    const res = await send({ website: siteId, url: '/' }, { 'user-agent': 'curl/8.0' })
    expect(res.statusCode).toBe(200)
    expect(res.json()).toEqual({ beep: 'boop' })
    expect(r.sink.batches.length).toBe(before)
  })

  it('400 names the bad field', async () => {
    const res = await send({ website: 'nope', url: '/' })
    expect(res.statusCode).toBe(400)
    expect(res.json().error).toMatchObject({ field: 'payload.website', code: 'bad-request', status: 400 })
    const long = await send({ website: siteId, name: 'x'.repeat(51) })
    expect(long.json().error.field).toBe('payload.name')
  })

  it('400 for an unknown site and for a site after soft delete', async () => {
    const unknown = await send({ website: '22222222-2222-4222-8222-222222222222' })
    expect(unknown.statusCode).toBe(400)
    expect(unknown.json().error.message).toBe('Website not found.')
    const doomed = await r.sites.create({ name: 'Doomed', domains: ['doomed.example'] })
    expect((await send({ website: doomed.id })).statusCode).toBe(200)
    await r.sites.softDelete(doomed.id)
    expect((await send({ website: doomed.id })).statusCode).toBe(400)
  })

  it('identify writes a session row with session_data and no event row', async () => {
    const events = r.sink.events.length
    const res = await send(
      { website: siteId, id: 'user-1', data: { plan: 'pro', n: 3, nested: { a: true } } },
      {},
      'identify',
    )
    expect(res.statusCode).toBe(200)
    expect(r.sink.events.length).toBe(events)
    const row = r.sink.sessions.at(-1)!
    expect(row).toMatchObject({
      session_id: res.json().sessionId,
      distinct_id: 'user-1',
      session_data: { plan: 'pro', n: '3', 'nested.a': 'true' },
    })
  })

  it('503 with Retry-After when the sink refuses, and the session row is re-emitted afterwards', async () => {
    r.sink.refuse(9)
    const ua = 'Mozilla/5.0 (X11; Linux x86_64; rv:125.0) Gecko/20100101 Firefox/125.0'
    const res = await send({ website: siteId, url: '/x' }, { 'user-agent': ua })
    expect(res.statusCode).toBe(503)
    expect(res.headers['retry-after']).toBe('9')
    r.sink.refuseWith = undefined
    const ok = await send({ website: siteId, url: '/x' }, { 'user-agent': ua })
    expect(ok.statusCode).toBe(200)
    expect(r.sink.sessions.filter((s) => s.session_id === ok.json().sessionId)).toHaveLength(1)
  })

  it('event data keys named __proto__ / constructor.prototype are stored like any key (Umami accepts them)', async () => {
    const res = await r.app.inject({
      method: 'POST',
      url: '/api/send',
      headers: { 'content-type': 'application/json', 'user-agent': CHROME_UA },
      payload: `{"type":"event","payload":{"website":"${siteId}","url":"/proto","name":"p","data":{"__proto__":"x","constructor":{"prototype":{"a":1}}}}}`,
    })
    expect(res.statusCode).toBe(200)
    const row = r.sink.events.at(-1)!
    expect(row.url_path).toBe('/proto')
    expect(Object.entries(row.event_data ?? {})).toEqual([
      ['__proto__', 'x'],
      ['constructor.prototype.a', '1'],
    ])
    expect(({} as Record<string, unknown>).a).toBeUndefined() // nothing polluted
  })

  it('accepts text/plain JSON like Umami, 415 for other content types, 400 for invalid JSON', async () => {
    const plain = await r.app.inject({
      method: 'POST',
      url: '/api/send',
      headers: { 'content-type': 'text/plain', 'user-agent': CHROME_UA },
      payload: JSON.stringify({ type: 'event', payload: { website: siteId, url: '/plain' } }),
    })
    expect(plain.statusCode).toBe(200)
    const xml = await r.app.inject({
      method: 'POST',
      url: '/api/send',
      headers: { 'content-type': 'application/xml' },
      payload: '<a/>',
    })
    expect(xml.statusCode).toBe(415)
    const bad = await r.app.inject({
      method: 'POST',
      url: '/api/send',
      headers: { 'content-type': 'application/json' },
      payload: '{"type":',
    })
    expect(bad.statusCode).toBe(400)
  })
})

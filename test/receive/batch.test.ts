import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startTestReceiver, CHROME_UA, type TestReceiver } from './support.ts'

let r: TestReceiver
let siteId: string

beforeAll(async () => {
  r = await startTestReceiver()
  siteId = (await r.sites.create({ name: 'Batch', domains: ['example.com'] })).id
})
afterAll(() => r.close())

const batch = (items: unknown, headers: Record<string, string> = {}) =>
  r.app.inject({
    method: 'POST',
    url: '/api/batch',
    headers: {
      'content-type': 'application/json',
      'user-agent': CHROME_UA,
      'x-forwarded-for': '203.0.113.9',
      ...headers,
    },
    payload: JSON.stringify(items),
  })

describe('POST /api/batch', () => {
  it('answers per item like Umami and stores the good items in one sink call', async () => {
    const before = r.sink.batches.length
    const res = await batch([
      { type: 'event', payload: { website: siteId, url: '/one' } },
      { type: 'event', payload: { website: 'not-a-uuid', url: '/two' } },
      { type: 'event', payload: { website: siteId, url: '/three', name: 'signup', data: { plan: 'pro' } } },
      { type: 'bogus', payload: {} },
    ])
    expect(res.statusCode).toBe(200)
    const body = res.json()
    expect(body).toMatchObject({ size: 4, processed: 2, errors: 2 })
    expect(body.details.map((d: { index: number }) => d.index)).toEqual([1, 3])
    expect(body.details[0].response.error).toMatchObject({ status: 400, field: 'payload.website' })
    expect(body.details[1].response.error.field).toBe('type')
    expect(typeof body.cache).toBe('string')
    expect(r.sink.batches.length).toBe(before + 1)
    const rows = r.sink.batches.at(-1)!
    expect(rows.pa_events.map((e) => e.url_path)).toEqual(['/one', '/three'])
    expect(rows.pa_events[1]).toMatchObject({
      event_type: 2,
      event_name: 'signup',
      event_data: { plan: 'pro' },
    })
    // Same headers for every item → one session, one session row.
    expect(rows.pa_sessions).toHaveLength(1)
  })

  it('event times outside the window (7 days back, 1 hour ahead) are a 400 naming payload.timestamp, per item', async () => {
    const now = Math.floor(Date.now() / 1000)
    const before = r.sink.batches.length
    const res = await batch([
      { type: 'event', payload: { website: siteId, url: '/recent', timestamp: now - 6 * 86_400 } },
      { type: 'event', payload: { website: siteId, url: '/old', timestamp: now - 8 * 86_400 } },
      { type: 'event', payload: { website: siteId, url: '/future', timestamp: now + 2 * 3600 } },
      { type: 'event', payload: { website: siteId, url: '/far', timestamp: 7_900_000_000 } }, // year 2220
      { type: 'event', payload: { website: siteId, url: '/soon', timestamp: now + 1800 } },
    ])
    const body = res.json()
    expect(body).toMatchObject({ size: 5, processed: 2, errors: 3 })
    expect(body.details.map((d: { index: number }) => d.index)).toEqual([1, 2, 3])
    for (const d of body.details)
      expect(d.response.error).toMatchObject({ status: 400, field: 'payload.timestamp' })
    expect(body.details[0].response.error.message).toContain('EVENT_TIME_MAX_PAST_SECONDS')
    expect(body.details[1].response.error.message).toContain('EVENT_TIME_MAX_FUTURE_SECONDS')
    expect(r.sink.batches.length).toBe(before + 1)
    expect(r.sink.batches.at(-1)!.pa_events.map((e) => e.url_path)).toEqual(['/recent', '/soon'])
  })

  it('empty array: cache null; only bots: cache omitted', async () => {
    expect((await batch([])).json()).toEqual({ size: 0, processed: 0, errors: 0, details: [], cache: null })
    const bots = (
      await batch([{ type: 'event', payload: { website: siteId } }], { 'user-agent': 'Googlebot/2.1' })
    ).json()
    expect(bots).toEqual({ size: 1, processed: 1, errors: 0, details: [] })
  })

  it('400 when the body is not an array of objects', async () => {
    const res = await batch({ type: 'event', payload: { website: siteId } })
    expect(res.statusCode).toBe(400)
    expect(res.json().error.field).toBe('body')
    expect((await batch([1, 2])).json().error.field).toBe('body.0')
  })

  it('503 + Retry-After for the whole batch when the sink refuses', async () => {
    r.sink.refuse(3)
    const res = await batch([{ type: 'event', payload: { website: siteId, url: '/r' } }])
    r.sink.refuseWith = undefined
    expect(res.statusCode).toBe(503)
    expect(res.headers['retry-after']).toBe('3')
  })
})

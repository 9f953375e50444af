/**
 * Fuzz-style robustness: thousands of malformed bodies (wrong types, huge strings, deep nesting,
 * invalid JSON, wrong content types) must each get a 4xx, nothing may reach the sink, and the
 * server must still answer a good request afterwards. Deterministic PRNG so failures reproduce.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startTestReceiver, CHROME_UA, type TestReceiver } from './support.ts'

let r: TestReceiver
let siteId: string

beforeAll(async () => {
  // Rate limits off: we want every body to reach validation.
  r = await startTestReceiver({
    RATE_LIMIT_IP_PER_MINUTE: '0',
    RATE_LIMIT_SITE_PER_MINUTE: '0',
    BODY_LIMIT_BYTES: '262144',
  })
  siteId = (await r.sites.create({ name: 'Fuzz', domains: ['fuzz.example'] })).id
})
afterAll(() => r.close())

let seed = 42
const rand = () => (seed = (seed * 1103515245 + 12345) & 0x7fffffff) / 0x7fffffff
const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rand() * xs.length)]

const STRING_FIELDS = [
  'hostname',
  'language',
  'screen',
  'title',
  'url',
  'referrer',
  'name',
  'tag',
  'ip',
  'userAgent',
  'id',
  'browser',
  'os',
  'device',
]
const LIMITS: Record<string, number> = {
  hostname: 100,
  language: 35,
  screen: 11,
  name: 50,
  tag: 50,
  id: 50,
  title: 10_000,
  url: 10_000,
}
const NON_STRINGS = [1, 0, -1.5, true, false, null, [], ['a'], {}, { a: 1 }]

function deep(depth: number): unknown {
  let v: unknown = { leaf: 1 }
  for (let i = 0; i < depth; i++) v = { n: v }
  return v
}

type Case = { contentType?: string; body: string; url?: string }

function good(payload: Record<string, unknown> = {}) {
  return { type: 'event', payload: { website: siteId, url: '/p', ...payload } }
}

function makeCase(i: number): Case {
  const kind = i % 9
  const json = (b: unknown): Case => ({ contentType: 'application/json', body: JSON.stringify(b) })
  switch (kind) {
    case 0: {
      // Invalid JSON: any strict prefix of a valid object is unbalanced.
      const full = JSON.stringify(good({ title: 'x'.repeat(Math.floor(rand() * 50)) }))
      return {
        contentType: pick(['application/json', 'text/plain']),
        body: full.slice(0, Math.floor(rand() * (full.length - 1))),
      }
    }
    case 1:
      return json(good({ [pick(STRING_FIELDS)]: pick(NON_STRINGS) }))
    case 2: {
      const f = pick(Object.keys(LIMITS))
      return json(
        good({ [f]: (f === 'url' ? '/' : '') + 'y'.repeat(LIMITS[f] + 1 + Math.floor(rand() * 20_000)) }),
      )
    }
    case 3:
      return json(good({ data: deep(17 + Math.floor(rand() * 3000)) }))
    case 4:
      return json(
        pick([
          null,
          1,
          'str',
          true,
          [],
          [good()],
          { type: 'event' },
          { payload: {} },
          { type: pick(['Event', '', 'pageview', 7]), payload: good().payload },
        ]),
      )
    case 5:
      return json(
        good({ website: pick(['', 'abc', '12345678-1234-1234-1234-123456789012', 123, null, siteId + 'x']) }),
      )
    case 6:
      return {
        contentType: pick([
          'application/xml',
          'multipart/form-data; boundary=x',
          'application/x-www-form-urlencoded',
          'image/png',
        ]),
        body: JSON.stringify(good()),
      }
    case 7:
      return json(
        good({
          timestamp: pick(['abc', 1.5, -5, 1e20, {}, [1, 2]]),
          [pick(['lcp', 'cls', 'ttfb'])]: pick([-1, 1e9, 'fast']),
        }),
      )
    default:
      return {
        ...json(pick([{}, [1], 'x', [[]], [good({ website: 'bad' })].map(() => null)])),
        url: '/api/batch',
      }
  }
}

describe('fuzz', () => {
  it('thousands of malformed bodies all get a 4xx and the server stays healthy', async () => {
    const N = 2000
    const statuses = new Map<number, number>()
    for (let i = 0; i < N; i++) {
      const c = makeCase(i)
      const res = await r.app.inject({
        method: 'POST',
        url: c.url ?? '/api/send',
        headers: { ...(c.contentType && { 'content-type': c.contentType }), 'user-agent': CHROME_UA },
        payload: c.body,
      })
      statuses.set(res.statusCode, (statuses.get(res.statusCode) ?? 0) + 1)
      if (res.statusCode < 400 || res.statusCode >= 500)
        throw new Error(`case ${i} got ${res.statusCode}: ${c.body.slice(0, 200)}`)
      expect(res.json().error.status).toBe(res.statusCode)
    }
    expect([...statuses.keys()].every((s) => s >= 400 && s < 500)).toBe(true)
    expect(statuses.get(400)).toBeGreaterThan(N / 2)
    expect(statuses.get(415)).toBeGreaterThan(0)
    // Nothing is accepted; refused events naming the live site are kept in pa_rejected
    // (docs/dead-letter.md), and only those.
    for (const b of r.sink.batches) {
      expect(b.pa_events).toHaveLength(0)
      expect(b.pa_sessions).toHaveLength(0)
      for (const x of b.pa_rejected ?? []) expect(x).toMatchObject({ site_id: siteId, reason: 'invalid' })
    }
    // Still healthy and still working.
    expect((await r.app.inject('/healthz')).statusCode).toBe(200)
    const ok = await r.app.inject({
      method: 'POST',
      url: '/api/send',
      headers: { 'user-agent': CHROME_UA },
      payload: good(),
    })
    expect(ok.statusCode).toBe(200)
  })

  it('a batch holding a body nested 40k levels deep is a 400, not a crash', async () => {
    const body =
      '[{"type":"event","payload":{"website":"' +
      siteId +
      '","data":' +
      '{"a":'.repeat(40_000) +
      '1' +
      '}'.repeat(40_000) +
      '}}]'
    const res = await r.app.inject({
      method: 'POST',
      url: '/api/batch',
      headers: { 'content-type': 'application/json', 'user-agent': CHROME_UA },
      payload: body,
    })
    expect(res.statusCode).toBe(200)
    expect(res.json()).toMatchObject({ processed: 0, errors: 1 })
    expect(res.json().details[0].response.error.field).toBe('payload.data')
  })
})

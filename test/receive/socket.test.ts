/** The receiver over a real TCP socket (Node's fetch): CORS preflight and grants, rate limits, 413. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { AddressInfo } from 'node:net'
import { startTestReceiver, CHROME_UA, type TestReceiver } from './support.ts'

let r: TestReceiver
let base: string
let siteId: string

beforeAll(async () => {
  r = await startTestReceiver({
    RATE_LIMIT_IP_PER_MINUTE: '5',
    // As behind one proxy that appends X-Forwarded-For: the limiter keys on its last entry.
    TRUST_PROXY_HOPS: '1',
    RATE_LIMIT_SITE_PER_MINUTE: '8',
    BODY_LIMIT_BYTES: '4096',
    IGNORE_IP: '192.0.2.128/25',
  })
  await r.app.listen({ port: 0, host: '127.0.0.1' })
  base = `http://127.0.0.1:${(r.app.server.address() as AddressInfo).port}`
  siteId = (await r.sites.create({ name: 'Shop', domains: ['shop.example'], allowSubdomains: false })).id
})
afterAll(() => r.close())

const preflight = (origin: string) =>
  fetch(`${base}/api/send`, {
    method: 'OPTIONS',
    headers: {
      origin,
      'access-control-request-method': 'POST',
      'access-control-request-headers': 'content-type,x-umami-cache',
    },
  })

const post = (path: string, body: unknown, headers: Record<string, string> = {}) =>
  fetch(`${base}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'user-agent': CHROME_UA, ...headers },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  })

describe('CORS', () => {
  it('grants exactly the origins of live sites, and follows site changes at once', async () => {
    const ok = await preflight('https://shop.example')
    expect(ok.status).toBe(204)
    expect(ok.headers.get('access-control-allow-origin')).toBe('https://shop.example')
    expect(ok.headers.get('access-control-allow-headers')?.toLowerCase()).toContain('x-umami-cache')
    expect((await preflight('https://evil.example')).headers.get('access-control-allow-origin')).toBeNull()
    expect(
      (await preflight('https://www.shop.example')).headers.get('access-control-allow-origin'),
    ).toBeNull()

    await r.sites.update(siteId, { allowSubdomains: true })
    expect((await preflight('https://www.shop.example')).headers.get('access-control-allow-origin')).toBe(
      'https://www.shop.example',
    )

    const res = await post(
      '/api/send',
      { type: 'event', payload: { website: siteId, url: '/' } },
      { origin: 'https://shop.example', 'x-forwarded-for': '192.0.2.1' },
    )
    expect(res.headers.get('access-control-allow-origin')).toBe('https://shop.example')

    await r.sites.softDelete(siteId)
    expect((await preflight('https://shop.example')).headers.get('access-control-allow-origin')).toBeNull()
    siteId = (await r.sites.create({ name: 'Shop again', domains: ['shop.example'] })).id
  })
})

describe('rate limits', () => {
  it('429 with Retry-After per client IP', async () => {
    const statuses: number[] = []
    let retryAfter: string | null = null
    for (let i = 0; i < 7; i++) {
      const res = await post(
        '/api/send',
        { type: 'event', payload: { website: siteId, url: `/${i}` } },
        { 'x-forwarded-for': '198.51.100.1' },
      )
      statuses.push(res.status)
      if (res.status === 429) retryAfter = res.headers.get('retry-after')
      await res.arrayBuffer()
    }
    expect(statuses.slice(0, 5)).toEqual([200, 200, 200, 200, 200])
    expect(statuses.slice(5)).toEqual([429, 429])
    expect(Number(retryAfter)).toBeGreaterThan(0)
    // Another IP is not affected.
    expect(
      (
        await post(
          '/api/send',
          { type: 'event', payload: { website: siteId } },
          { 'x-forwarded-for': '198.51.100.2' },
        )
      ).status,
    ).toBe(200)
  })

  it('429 per site across many IPs', async () => {
    const site = (await r.sites.create({ name: 'Busy', domains: ['busy.example'] })).id
    const statuses: number[] = []
    for (let i = 0; i < 10; i++) {
      const res = await post(
        '/api/send',
        { type: 'event', payload: { website: site } },
        { 'x-forwarded-for': `203.0.113.${i + 10}` },
      )
      statuses.push(res.status)
      await res.arrayBuffer()
    }
    expect(statuses.filter((s) => s === 200)).toHaveLength(8)
    expect(statuses.slice(8)).toEqual([429, 429])
  })
})

describe('batch and sites over the socket', () => {
  it('batch answers per item', async () => {
    // A site of its own: the per-site limit (8/min) of the main site is used up by the tests above.
    const own = (await r.sites.create({ name: 'Batch', domains: ['batch.example'] })).id
    const res = await post(
      '/api/batch',
      [
        { type: 'event', payload: { website: own, url: '/s1' } },
        { type: 'event', payload: { website: own, url: 5 } },
      ],
      { 'x-forwarded-for': '192.0.2.40' },
    )
    expect(res.status).toBe(200)
    expect(await res.json()).toMatchObject({ size: 2, processed: 1, errors: 1, details: [{ index: 1 }] })
  })

  it('a batch that would go over the site limit is refused whole with 429, nothing stored', async () => {
    const own = (await r.sites.create({ name: 'Batch limit', domains: [] })).id
    const before = r.sink.batches.length
    const items = (n: number) =>
      Array.from({ length: n }, (_, i) => ({ type: 'event', payload: { website: own, url: `/b${i}` } }))
    const over = await post('/api/batch', items(9), { 'x-forwarded-for': '192.0.2.41' }) // limit 8/min
    expect(over.status).toBe(429)
    expect(over.headers.get('retry-after')).toMatch(/^\d+$/)
    expect(r.sink.batches.length).toBe(before)
  })

  it('GET /api/send is 404 (only POST is a route; Umami answers 405)', async () => {
    const res = await fetch(`${base}/api/send`)
    expect(res.status).toBe(404)
    expect(((await res.json()) as { error: { code: string } }).error.code).toBe('not-found')
  })

  it('sites admin: 401/403/201', async () => {
    expect((await fetch(`${base}/api/sites`)).status).toBe(401)
    expect((await fetch(`${base}/api/sites`, { headers: { authorization: 'Bearer x' } })).status).toBe(403)
    const created = await fetch(`${base}/api/sites`, {
      method: 'POST',
      headers: { authorization: 'Bearer admin-token', 'content-type': 'application/json' },
      body: JSON.stringify({ name: 'Socket', domains: ['socket.example'] }),
    })
    expect(created.status).toBe(201)
    const site = (await created.json()) as { id: string; script: string }
    expect(site.script).toContain(`data-website-id="${site.id}"`)
    // The new site's origin is granted at once.
    expect((await preflight('https://socket.example')).headers.get('access-control-allow-origin')).toBe(
      'https://socket.example',
    )
  })
})

describe('limits', () => {
  it('413 for a body over BODY_LIMIT_BYTES', async () => {
    const res = await post(
      '/api/send',
      { type: 'event', payload: { website: siteId, title: 'x'.repeat(5000) } },
      { 'x-forwarded-for': '192.0.2.200' },
    )
    expect(res.status).toBe(413)
    expect(((await res.json()) as { error: { status: number } }).error.status).toBe(413)
  })

  it('IGNORE_IP (CIDR) answers 403 and stores nothing', async () => {
    const before = r.sink.batches.length
    const res = await post(
      '/api/send',
      { type: 'event', payload: { website: siteId } },
      { 'x-forwarded-for': '192.0.2.130' },
    )
    expect(res.status).toBe(403)
    expect(((await res.json()) as { error: { code: string } }).error.code).toBe('forbidden')
    expect(r.sink.batches.length).toBe(before)
  })

  it('serves the tracker script for the snippet', async () => {
    const res = await fetch(`${base}/script.js`)
    expect(res.status).toBe(200)
    expect(res.headers.get('content-type')).toContain('javascript')
    expect(await res.text()).toContain("'/api/send'".slice(1, -1))
  })
})

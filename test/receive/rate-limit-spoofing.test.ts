/**
 * Issue 9 item 5: the per-IP rate limit must not trust headers a client writes itself. By default
 * it keys on the socket address; rotating X-Forwarded-For (or true-client-ip and friends) does not
 * escape it. With TRUST_PROXY_HOPS or CLIENT_IP_HEADER the operator says which header to believe.
 */
import { afterEach, describe, expect, it } from 'vitest'
import { startTestReceiver, CHROME_UA, type TestReceiver } from './support.ts'

let r: TestReceiver | undefined
afterEach(async () => {
  await r?.close()
  r = undefined
})

async function statuses(env: Record<string, string>, headersFor: (i: number) => Record<string, string>) {
  r = await startTestReceiver({ RATE_LIMIT_IP_PER_MINUTE: '5', ...env })
  const site = (await r.sites.create({ name: 'S', domains: ['s.example'] })).id
  const out: number[] = []
  for (let i = 0; i < 8; i++) {
    const res = await r.app.inject({
      method: 'POST',
      url: '/api/send',
      remoteAddress: '198.51.100.7',
      headers: { 'content-type': 'application/json', 'user-agent': CHROME_UA, ...headersFor(i) },
      payload: JSON.stringify({ type: 'event', payload: { website: site, url: `/${i}` } }),
    })
    out.push(res.statusCode)
  }
  return out
}

describe('per-IP rate limit and client headers', () => {
  it('by default, rotating X-Forwarded-For and true-client-ip does not escape the limit', async () => {
    const got = await statuses({}, (i) => ({
      'x-forwarded-for': `203.0.113.${i}`,
      'true-client-ip': `192.0.2.${i}`,
      'cf-connecting-ip': `192.0.2.${100 + i}`,
    }))
    expect(got).toEqual([200, 200, 200, 200, 200, 429, 429, 429])
  })

  it('TRUST_PROXY_HOPS=1: the entry the trusted proxy appended counts, a client-written left part does not', async () => {
    const got = await statuses({ TRUST_PROXY_HOPS: '1' }, (i) => ({
      'x-forwarded-for': `10.9.9.${i}, 203.0.113.50`,
    }))
    expect(got).toEqual([200, 200, 200, 200, 200, 429, 429, 429])
  })

  it('TRUST_PROXY_HOPS=1: different clients behind the proxy have their own limits', async () => {
    const got = await statuses({ TRUST_PROXY_HOPS: '1' }, (i) => ({ 'x-forwarded-for': `203.0.113.${i}` }))
    expect(got.every((s) => s === 200)).toBe(true)
  })

  it('CLIENT_IP_HEADER names the one header to believe', async () => {
    const got = await statuses({ CLIENT_IP_HEADER: 'x-real-client' }, (i) => ({
      'x-real-client': '203.0.113.9',
      'x-forwarded-for': `198.18.0.${i}`,
    }))
    expect(got).toEqual([200, 200, 200, 200, 200, 429, 429, 429])
  })
})

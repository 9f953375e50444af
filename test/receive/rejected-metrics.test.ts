/**
 * Issue 9 item 14: every dropped event is counted in floe_events_rejected_total by reason, also
 * the ones answered 200 (bots, items of a batch).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startTestReceiver, CHROME_UA, type TestReceiver } from './support.ts'
import { metricsRoute } from '../../src/receive/metrics-route.ts'

let r: TestReceiver
let site: string
beforeAll(async () => {
  r = await startTestReceiver(
    { IGNORE_IP: '192.0.2.0/24', RATE_LIMIT_IP_PER_MINUTE: '0' },
    { plugins: [(app) => app.register(metricsRoute)] },
  )
  site = (await r.sites.create({ name: 'M', domains: ['m.example'] })).id
})
afterAll(() => r.close())

async function rejected(): Promise<Record<string, number>> {
  const text = (await r.app.inject({ method: 'GET', url: '/metrics' })).body
  const out: Record<string, number> = {}
  for (const m of text.matchAll(/^floe_events_rejected_total\{reason="([^"]+)"\} (\d+)$/gm))
    out[m[1]] = Number(m[2])
  return out
}
const delta = (before: Record<string, number>, after: Record<string, number>, reason: string) =>
  (after[reason] ?? 0) - (before[reason] ?? 0)

const post = (url: string, body: unknown, headers: Record<string, string>) =>
  r.app.inject({
    method: 'POST',
    url,
    remoteAddress: '198.51.100.3',
    headers: { 'content-type': 'application/json', ...headers },
    payload: JSON.stringify(body),
  })

describe('floe_events_rejected_total', () => {
  it("counts a bot (curl's default user agent) answered 200", async () => {
    const before = await rejected()
    const res = await post(
      '/api/send',
      { type: 'event', payload: { website: site, url: '/' } },
      {
        'user-agent': 'curl/8.5.0',
      },
    )
    expect(res.json()).toEqual({ beep: 'boop' })
    expect(delta(before, await rejected(), 'bot')).toBe(1)
  })

  it('counts each bad item of a batch and each bot item, by reason', async () => {
    const before = await rejected()
    const res = await post(
      '/api/batch',
      [
        { type: 'event', payload: { website: site, url: '/ok' } },
        { type: 'event', payload: { website: site, url: 5 } },
        { type: 'event', payload: { website: '00000000-0000-4000-8000-000000000000', url: '/' } },
      ],
      { 'user-agent': CHROME_UA },
    )
    expect(res.json()).toMatchObject({ processed: 1, errors: 2 })
    expect(delta(before, await rejected(), 'invalid')).toBe(2)
  })

  it('counts items of a batch from an ignored IP', async () => {
    const before = await rejected()
    const res = await post(
      '/api/batch',
      [
        { type: 'event', payload: { website: site, url: '/a' } },
        { type: 'event', payload: { website: site, url: '/b' } },
      ],
      { 'user-agent': CHROME_UA, 'x-forwarded-for': '192.0.2.9' },
    )
    expect(res.json()).toMatchObject({ processed: 0, errors: 2 })
    expect(delta(before, await rejected(), 'ignored_ip')).toBe(2)
  })
})

/**
 * Request logs: off by default at info (one line per request cost throughput and filled logs);
 * slow requests (FLOE_LOG_SLOW_REQUEST_MS) and failures still get a line; FLOE_LOG_REQUESTS=true
 * restores one line per request. Whatever is logged never holds the client IP.
 */
import { afterEach, describe, expect, it } from 'vitest'
import type { FastifyInstance } from 'fastify'
import { startTestReceiver, CHROME_UA, type TestReceiver } from './support.ts'
import { loadConfig } from '../../src/config.ts'

const receivers: TestReceiver[] = []
afterEach(async () => {
  for (const r of receivers.splice(0)) await r.close()
})

/** A receiver with two extra routes: one that takes 1.1 s (over the default 1 s threshold), one that throws. */
async function receiver(env: Record<string, string>): Promise<{ r: TestReceiver; siteId: string }> {
  const r = await startTestReceiver(env, {
    plugins: [
      async (app: FastifyInstance) => {
        app.get('/test/slow', async () => {
          await new Promise((resolve) => setTimeout(resolve, 1100))
          return { ok: true }
        })
        app.get('/test/boom', async () => {
          throw new Error('boom')
        })
      },
    ],
  })
  receivers.push(r)
  const siteId = (await r.sites.create({ name: 'Logs', domains: ['example.com'] })).id
  return { r, siteId }
}

const IP = '198.51.100.77'
const send = (r: TestReceiver, website: string) =>
  r.app.inject({
    method: 'POST',
    url: '/api/send',
    headers: { 'content-type': 'application/json', 'user-agent': CHROME_UA, 'x-forwarded-for': IP },
    payload: JSON.stringify({ type: 'event', payload: { website, url: '/log', hostname: 'example.com' } }),
  })

const lines = (r: TestReceiver) => r.logs.map((l) => JSON.parse(l) as Record<string, unknown>)
const about = (r: TestReceiver, url: string) =>
  lines(r).filter((l) => (l.req as { url?: string } | undefined)?.url === url)

describe('request logging', () => {
  it('by default: no line for ordinary requests, a warn line for a slow one and one line per failure', async () => {
    const { r, siteId } = await receiver({})
    for (let i = 0; i < 5; i++) expect((await send(r, siteId)).statusCode).toBe(200)
    expect((await send(r, 'not-a-site')).statusCode).toBe(400)
    expect((await r.app.inject({ url: '/healthz' })).statusCode).toBe(200)
    expect(about(r, '/api/send')).toEqual([])
    expect(about(r, '/healthz')).toEqual([])

    expect((await r.app.inject({ url: '/test/slow' })).statusCode).toBe(200)
    const slow = about(r, '/test/slow')
    expect(slow).toHaveLength(1)
    expect(slow[0]).toMatchObject({ level: 40, msg: 'slow request', statusCode: 200 })
    expect(slow[0]!.ms as number).toBeGreaterThanOrEqual(1000)

    // The error handler's line (with the error) is the only one for a failure.
    expect((await r.app.inject({ url: '/test/boom' })).statusCode).toBe(500)
    const failed = lines(r).filter((l) => l.msg === 'request failed')
    expect(failed).toHaveLength(1)
    expect(JSON.stringify(failed[0])).toContain('boom')
    expect(r.logs.join('')).not.toContain(IP)
  })

  it('FLOE_LOG_SLOW_REQUEST_MS=0: not even slow requests', async () => {
    const { r } = await receiver({ FLOE_LOG_SLOW_REQUEST_MS: '0' })
    expect((await r.app.inject({ url: '/test/slow' })).statusCode).toBe(200)
    expect(about(r, '/test/slow')).toEqual([])
  })

  it('FLOE_LOG_REQUESTS=true: one info line per request, never with the client IP', async () => {
    const { r, siteId } = await receiver({ FLOE_LOG_REQUESTS: 'true' })
    for (let i = 0; i < 3; i++) expect((await send(r, siteId)).statusCode).toBe(200)
    expect((await send(r, 'bad')).statusCode).toBe(400)
    const sends = about(r, '/api/send')
    expect(sends.map((l) => [l.level, l.msg, l.statusCode])).toEqual([
      [30, 'request', 200],
      [30, 'request', 200],
      [30, 'request', 200],
      [30, 'request', 400],
    ])
    const all = r.logs.join('')
    expect(all).not.toContain(IP)
    expect(all).not.toContain('127.0.0.1')
  })

  it('the settings are checked, naming the variable', () => {
    const base = { APP_SECRET: 's', DATABASE_URL: 'postgres://x@127.0.0.1/x' }
    expect(loadConfig(base)).toMatchObject({ logRequests: false, logSlowRequestMs: 1000 })
    expect(() => loadConfig({ ...base, FLOE_LOG_REQUESTS: 'maybe' })).toThrow(/FLOE_LOG_REQUESTS/)
    expect(() => loadConfig({ ...base, FLOE_LOG_SLOW_REQUEST_MS: 'slow' })).toThrow(
      /FLOE_LOG_SLOW_REQUEST_MS/,
    )
  })
})

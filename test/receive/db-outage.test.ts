/**
 * Issue 9 item 1: a Postgres outage longer than the site cache's TTL. The sites database is a real
 * Postgres reached through a TCP proxy that the test cuts (connections reset, new ones refused).
 */
import { randomUUID } from 'node:crypto'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import pino from 'pino'
import type { FastifyInstance } from 'fastify'
import { createTestDatabase } from '../support/pg.ts'
import { startTcpProxy, type TcpProxy } from '../support/tcp-proxy.ts'
import { PgSql } from '../../src/storage/pg.ts'
import { SiteStore } from '../../src/sites/store.ts'
import { KeyStore } from '../../src/sites/keys.ts'
import { loadConfig } from '../../src/config.ts'
import { buildReceiver } from '../../src/receive/server.ts'
import { metricsRoute } from '../../src/receive/metrics-route.ts'
import { CapturingEventSink, CHROME_UA, ADMIN } from './support.ts'

let db: Awaited<ReturnType<typeof createTestDatabase>>
let proxy: TcpProxy
let sql: PgSql
let sites: SiteStore
let app: FastifyInstance
const sink = new CapturingEventSink()
let known: string
let idle: string

beforeAll(async () => {
  db = await createTestDatabase('floe_outage')
  const target = new URL(db.url)
  proxy = await startTcpProxy(target.hostname, Number(target.port || 5432))
  target.host = `127.0.0.1:${proxy.port}`
  const config = loadConfig({
    APP_SECRET: 'test-secret',
    DATABASE_URL: target.toString(),
    ADMIN_TOKEN: 'admin-token',
    FLOE_SITE_CACHE_TTL_SECONDS: '1',
  })
  sql = new PgSql(config.databaseUrl!, { connectTimeoutMs: 2000 })
  sites = await SiteStore.open(sql, { cacheTtlMs: config.siteCacheTtlSeconds * 1000 })
  known = (await sites.create({ name: 'Known', domains: ['example.com'] })).id
  idle = (await sites.create({ name: 'Idle', domains: ['idle.example.com'] })).id
  app = (
    await buildReceiver({
      config,
      sites,
      keys: await KeyStore.open(sql),
      sink,
      logger: pino({ level: 'silent' }),
      plugins: [(a) => a.register(metricsRoute)],
    })
  ).app
  await app.ready()
})
afterAll(async () => {
  await app?.close()
  await proxy?.close()
  await sql?.close()
  await db?.drop()
})

const send = (website: string) =>
  app.inject({
    method: 'POST',
    url: '/api/send',
    headers: { 'content-type': 'application/json', 'user-agent': CHROME_UA },
    payload: JSON.stringify({ type: 'event', payload: { website, url: '/x', hostname: 'example.com' } }),
  })

const metric = async (name: string): Promise<number> => {
  const text = (await app.inject({ method: 'GET', url: '/metrics' })).body
  const line = text.split('\n').find((l) => l.startsWith(name + ' '))
  return Number(line?.split(' ')[1])
}

describe('sites database outage longer than the site cache TTL', () => {
  it('keeps accepting a known site from the last good copy, and says so in /metrics', async () => {
    expect((await send(known)).statusCode).toBe(200)
    await proxy.cut()
    const staleBefore = await metric('floe_site_lookups_stale_total')
    // Well past the 1 s TTL, several times over.
    for (let i = 0; i < 4; i++) {
      await new Promise((r) => setTimeout(r, 700))
      const res = await send(known)
      expect(res.statusCode, res.body).toBe(200)
    }
    expect(await metric('floe_site_lookups_stale_total')).toBeGreaterThan(staleBefore)
    expect(await metric('floe_sites_db_up')).toBe(0)
  })

  it('answers 503 with Retry-After, never 500, for a site not seen before', async () => {
    const res = await send(idle)
    expect(res.statusCode, res.body).toBe(503)
    expect(Number(res.headers['retry-after'])).toBeGreaterThan(0)
    expect(res.json().error.code).toBe('service-unavailable')
    expect((await send(randomUUID())).statusCode).toBe(503)
  })

  it('answers 503 on the sites API', async () => {
    const list = await app.inject({ method: 'GET', url: '/api/sites', headers: ADMIN })
    expect(list.statusCode, list.body).toBe(503)
    expect(list.headers['retry-after']).toBeDefined()
    const create = await app.inject({
      method: 'POST',
      url: '/api/sites',
      headers: ADMIN,
      payload: { name: 'New', domains: ['new.example.com'] },
    })
    expect(create.statusCode, create.body).toBe(503)
  })

  it('recovers once the database is back: refreshes in the background, unknown sites resolve', async () => {
    await proxy.restore()
    expect((await send(idle)).statusCode).toBe(200)
    // A change made while this process was cut off is picked up by the background refresh.
    const other = new PgSql(db.url)
    await other.query('UPDATE floe_sites SET deleted_at = now() WHERE site_id = $1', [known])
    await other.close()
    await new Promise((r) => setTimeout(r, 1100))
    await send(known) // stale answer, refresh started
    await new Promise((r) => setTimeout(r, 300))
    expect((await send(known)).statusCode).toBe(400)
    expect(await metric('floe_sites_db_up')).toBe(1)
  })
})

/**
 * Two Floe receivers on one Postgres, as replicas behind a load balancer: a site created, changed or
 * deleted through one is acted on by the other at once (LISTEN/NOTIFY), for CORS grants and for
 * /api/send, without waiting for the site cache to expire.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import pino from 'pino'
import { PgSql } from '../../src/storage/pg.ts'
import { SiteStore } from '../../src/sites/store.ts'
import { KeyStore } from '../../src/sites/keys.ts'
import { buildReceiver } from '../../src/receive/server.ts'
import type { FastifyInstance } from 'fastify'
import { ADMIN, CapturingEventSink, CHROME_UA, startTestReceiver, type TestReceiver } from './support.ts'

let a: TestReceiver
let b: FastifyInstance
let bSql: PgSql

beforeAll(async () => {
  a = await startTestReceiver()
  bSql = new PgSql(a.config.databaseUrl!)
  const sites = await SiteStore.open(bSql)
  b = (
    await buildReceiver({
      config: a.config,
      sites,
      keys: await KeyStore.open(bSql),
      sink: new CapturingEventSink(),
      logger: pino({ level: 'silent' }),
    })
  ).app
  await b.ready()
})
afterAll(async () => {
  await b.close()
  await bSql.close()
  await a.close()
})

const grantOnB = async (origin: string) =>
  (
    await b.inject({
      method: 'OPTIONS',
      url: '/api/send',
      headers: { origin, 'access-control-request-method': 'POST' },
    })
  ).headers['access-control-allow-origin'] ?? null

const sendOnB = (website: string) =>
  b.inject({
    method: 'POST',
    url: '/api/send',
    headers: { 'content-type': 'application/json', 'user-agent': CHROME_UA },
    payload: { type: 'event', payload: { website, url: '/' } },
  })

async function eventually(check: () => Promise<boolean>): Promise<void> {
  const until = Date.now() + 5000
  while (!(await check())) {
    if (Date.now() > until) throw new Error('replica did not follow the site change within 5 s')
    await new Promise((r) => setTimeout(r, 20))
  }
}

describe('site changes across replicas', () => {
  it('create, change and delete through one replica reach the other within seconds', async () => {
    const id = '44444444-4444-4444-8444-444444444444'
    // B looks the site up first, so its cache holds "unknown site" for the next 60 s.
    expect((await sendOnB(id)).statusCode).toBe(400)
    expect(await grantOnB('https://replica.example')).toBeNull()

    const created = await a.app.inject({
      method: 'POST',
      url: '/api/sites',
      headers: ADMIN,
      payload: { id, name: 'Replica', domains: ['replica.example'] },
    })
    expect(created.statusCode).toBe(201)
    await eventually(async () => (await grantOnB('https://replica.example')) === 'https://replica.example')
    expect((await sendOnB(id)).statusCode).toBe(200)

    await a.app.inject({
      method: 'PUT',
      url: `/api/sites/${id}`,
      headers: ADMIN,
      payload: { domains: ['moved.example'] },
    })
    await eventually(async () => (await grantOnB('https://replica.example')) === null)
    expect(await grantOnB('https://moved.example')).toBe('https://moved.example')

    await a.app.inject({ method: 'DELETE', url: `/api/sites/${id}`, headers: ADMIN })
    await eventually(async () => (await sendOnB(id)).statusCode === 400)
    expect(await grantOnB('https://moved.example')).toBeNull()
  })
})

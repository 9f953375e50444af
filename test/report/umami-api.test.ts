/**
 * Umami's website API on a running Floe (real Postgres catalog, s3rver warehouse), called through
 * `@umami/api-client` unchanged. Every answer is checked against plain-JS reference answers over
 * the same rows read back with icebird (fixture.ts), not against Floe's own query layer.
 *
 * Phases: fixture A is flushed (committed); fixture B is sent and left unflushed, so the first
 * answers must already include it (live rows); then B is flushed and the answers must not change
 * (exactly once across the flush). The reference is computed from all rows after the flush.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { UmamiClient, isUmamiApiError } from '@umami/api-client'
import type { FloeApp } from '../../src/app.ts'
import { freePort } from '../support/s3.ts'
import {
  ADMIN_TOKEN,
  createSite,
  floeEnv,
  startInProcess,
  startServices,
  type Services,
} from '../e2e/support.ts'
import { metadataLocation, readWithIcebird } from '../e2e/readback.ts'
import {
  countSessionsBy,
  fixtureCalls,
  localDay,
  refStats,
  sendCalls,
  sorted,
  toEv,
  type Ev,
} from './fixture.ts'

let services: Services
let app: FloeApp
let base: string
let siteId: string
let otherSiteId: string
let readToken: string
let otherReadToken: string
let shareToken: string
let rows: Ev[] = []
let sessionRows: Record<string, unknown>[] = []
/** Answers taken while fixture B was still unflushed. */
const live: Record<string, unknown> = {}

const END = Math.floor(Date.now() / 1000) - 120
const startAt = (END - 30 * 3600) * 1000
const endAt = END * 1000 + 999
const range = { startAt, endAt }

async function createKey(site: string, kind: 'read' | 'share'): Promise<string> {
  const res = await fetch(`${base}/api/sites/${site}/keys`, {
    method: 'POST',
    headers: { authorization: `Bearer ${ADMIN_TOKEN}`, 'content-type': 'application/json' },
    body: JSON.stringify({ kind, label: 'test' }),
  })
  expect(res.status).toBe(201)
  return ((await res.json()) as { token: string }).token
}

const client = (token: string) => new UmamiClient({ baseUrl: `${base}/api`, apiKey: token })

async function status(p: Promise<unknown>): Promise<number> {
  try {
    await p
    return 200
  } catch (err) {
    if (isUmamiApiError(err)) return err.status
    throw err
  }
}

beforeAll(async () => {
  services = await startServices('reporting_umami')
  const port = await freePort()
  const env = {
    ...floeEnv({ databaseUrl: services.db.url, s3: services.s3, port }),
    ICEBERG_FLUSH_INTERVAL_SECONDS: '3600',
    ICEBERG_FLUSH_BATCH_SIZE: '100000',
    FLOE_MAINTENANCE_INTERVAL_SECONDS: '0',
    FLOE_REPORT_MAX_SPAN_DAYS: '30',
  }
  ;({ app, base } = await startInProcess(env))
  siteId = await createSite(services.db.url)
  otherSiteId = await createSite(services.db.url)
  readToken = await createKey(siteId, 'read')
  otherReadToken = await createKey(otherSiteId, 'read')
  shareToken = await createKey(siteId, 'share')
  // Fixture A: committed. Fixture B (and some rows of the other site): accepted, not flushed.
  await sendCalls(base, fixtureCalls(siteId, END - 6 * 3600, 60, 40, 1))
  await sendCalls(base, fixtureCalls(otherSiteId, END, 20, 20, 2))
  await app.flush()
  await sendCalls(base, fixtureCalls(siteId, END, 25, 5, 3))
  expect(app.buffer.backlogRows).toBeGreaterThan(0)
}, 120_000)

afterAll(async () => {
  await app?.close()
  await services?.close()
})

describe('live rows, then the same answers after the flush', () => {
  it('answers include unflushed rows', async () => {
    const c = client(readToken)
    live.stats = await c.getWebsiteStats(siteId, range)
    live.path = await c.getWebsiteMetrics(siteId, { ...range, type: 'path' })
    live.sessions = await c.getWebsiteSessionStats(siteId, range)
    await app.flush()
    expect(app.buffer.backlogRows).toBe(0)
    rows = (await readWithIcebird(await metadataLocation(services.db.url, 'pa_events')))
      .map(toEv)
      .filter((r) => r.site_id === siteId)
    sessionRows = (await readWithIcebird(await metadataLocation(services.db.url, 'pa_sessions'))).filter(
      (r) => r.site_id === siteId,
    )
    const ref = refStats(rows, startAt, endAt)
    expect(live.stats).toMatchObject(ref)
    expect(await c.getWebsiteStats(siteId, range)).toMatchObject(ref)
    expect(await c.getWebsiteMetrics(siteId, { ...range, type: 'path' })).toEqual(live.path)
    expect(await c.getWebsiteSessionStats(siteId, range)).toEqual(live.sessions)
  })
})

describe('stats', () => {
  it('equals the reference, with the previous period as comparison', async () => {
    const half = { startAt: (END - 15 * 3600) * 1000, endAt }
    const s = (await client(readToken).getWebsiteStats(siteId, half)) as Record<string, unknown>
    expect(s).toMatchObject(refStats(rows, half.startAt, half.endAt))
    const span = Math.trunc((half.endAt - half.startAt) / 60_000) * 60_000
    expect(s.comparison).toEqual(refStats(rows, half.startAt - span, half.endAt - span))
    expect(s.pageviews).toBeGreaterThan(0)
  })
})

/**
 * Outage test: the S3 server is stopped under load. Floe keeps accepting into the WAL until the
 * (small) backlog limit, then answers 503 with Retry-After; nothing acknowledged is lost, and once
 * the S3 server is back it catches up by itself (background retries) and accepts again.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { rmSync } from 'node:fs'
import type { FloeApp } from '../../src/app.ts'
import {
  adminFlush,
  checkLanded,
  createSite,
  eventBody,
  floeEnv,
  LoadGenerator,
  startInProcess,
  startServices,
  UA,
  type Services,
} from './support.ts'

let services: Services
let app: FloeApp
let base: string
let dataDir: string

beforeAll(async () => {
  services = await startServices('floe_outage')
  const env = {
    ...floeEnv({ databaseUrl: services.db.url, s3: services.s3, port: 0 }),
    ICEBERG_FLUSH_BATCH_SIZE: '20',
    ICEBERG_FLUSH_INTERVAL_SECONDS: '1',
    FLOE_BACKLOG_MAX_ROWS: '150',
  }
  dataDir = env.FLOE_DATA_DIR
  ;({ app, base } = await startInProcess(env, 'silent'))
})

afterAll(async () => {
  await app?.close(Date.now() + 5000)
  await services?.close()
  rmSync(dataDir, { recursive: true, force: true })
})

const waitUntil = async (cond: () => boolean | Promise<boolean>, ms: number) => {
  const until = Date.now() + ms
  while (!(await cond())) {
    if (Date.now() > until) throw new Error('timed out')
    await new Promise((r) => setTimeout(r, 25))
  }
}

const RETRIED = /floe_flush_retries_total\{table="pa_events",error="[^"]+"\} [1-9]/

describe('object store outage under load', () => {
  it('answers 503 over the backlog limit, loses nothing, and catches up when S3 returns', async () => {
    const { s3, db } = services
    const siteId = await createSite(db.url)
    const load = new LoadGenerator(() => base, siteId, 'outage', 4)
    try {
      await waitUntil(() => load.acked.length >= 40, 15_000)
      await s3.stop()
      // The backlog fills up (WAL-durable, uncommitted), then the receiver sheds load with 503.
      await waitUntil(() => (load.statuses.get(503) ?? 0) >= 5, 20_000)
      const res = await fetch(`${base}/api/send`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'user-agent': UA },
        body: eventBody(siteId, 'probe-503'),
      })
      expect(res.status).toBe(503)
      expect(Number(res.headers.get('retry-after'))).toBeGreaterThanOrEqual(1)
      expect(app.buffer!.backlogRows).toBeLessThanOrEqual(150)
      // The receiver can fill the backlog before the first flush even starts (1 s interval): keep
      // S3 away until a flush has failed and been retried, so the recovery below is the retries'.
      await waitUntil(async () => RETRIED.test(await (await fetch(`${base}/metrics`)).text()), 20_000)

      await s3.start()
      // Recovers by itself: background retries commit the backlog and 2xx answers resume.
      const ackedAtRestart = load.acked.length
      await waitUntil(() => load.acked.length >= ackedAtRestart + 40, 30_000)
    } finally {
      await load.stop()
    }
    expect((await adminFlush(base)).status).toBe(200)
    const { landed, lost, duplicated } = await checkLanded(db.url, load.acked)
    expect(duplicated).toEqual([])
    expect(lost).toEqual([])
    expect(landed.includes('probe-503')).toBe(false)
    const metrics = await (await fetch(`${base}/metrics`)).text()
    expect(metrics).toMatch(RETRIED)
    expect(metrics).toMatch(/floe_events_rejected_total\{reason="backpressure"\} [1-9]/)
    expect(metrics).toMatch(/floe_backpressure 0/)
  })
})

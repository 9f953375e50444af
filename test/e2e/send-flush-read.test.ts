/**
 * End to end in one process: real Postgres (JDBC catalog), real S3-protocol server, the real app
 * (createApp) listening on a port; events via /api/send, POST /api/admin/flush, then the tables are
 * read back with icebird (Iceberg) and DuckDB (Parquet): every event exactly once.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { rmSync } from 'node:fs'
import type { FloeApp } from '../../src/app.ts'
import { metadataLocation, queryWithDuckDB, readWithIcebird, snapshotSummaries } from './readback.ts'
import { duckdbSessionsQuery } from '../support/sessions-view.ts'
import {
  ADMIN_TOKEN,
  adminFlush,
  createSite,
  duplicates,
  eventBody,
  floeEnv,
  markersOf,
  send,
  startInProcess,
  startServices,
  UA,
  type Services,
} from './support.ts'

let services: Services
let app: FloeApp
let base: string
let siteId: string
let dataDir: string

beforeAll(async () => {
  services = await startServices('floe_e2e')
  siteId = await createSite(services.db.url)
  const env = floeEnv({ databaseUrl: services.db.url, s3: services.s3, port: 0 })
  dataDir = env.FLOE_DATA_DIR
  ;({ app, base } = await startInProcess(env, 'warn'))
})

afterAll(async () => {
  await app?.close(Date.now() + 5000)
  await services?.close()
  rmSync(dataDir, { recursive: true, force: true })
})

describe('send → flush → read back', () => {
  it('lands every accepted event exactly once in pa_events, and sessions in pa_sessions', async () => {
    const markers = Array.from({ length: 40 }, (_, i) => `e2e-${i}`)
    // Two visitors (IPs) so there are two sessions; one identify adds a session update row.
    const statuses = await Promise.all(
      markers.map((m, i) => send(base, eventBody(siteId, m), `203.0.113.${i % 2}`)),
    )
    expect(statuses.every((s) => s === 200)).toBe(true)
    const identify = JSON.stringify({ type: 'identify', payload: { website: siteId, data: { plan: 'pro' } } })
    expect(await send(base, identify, '203.0.113.0')).toBe(200)

    const flushed = await adminFlush(base)
    expect(flushed.status).toBe(200)
    const report = (flushed.body as { tables: Record<string, { snapshotIds: string[]; records: number }> })
      .tables
    expect(report.pa_events.records).toBe(40)
    expect(report.pa_events.snapshotIds).toHaveLength(1)
    expect(report.pa_sessions.records).toBeGreaterThanOrEqual(3)

    const events = await metadataLocation(services.db.url, 'pa_events')
    const fromIcebird = await readWithIcebird(events)
    expect(markersOf(fromIcebird).sort()).toEqual([...markers].sort())
    const fromDuck = await queryWithDuckDB(events, 'SELECT url_path, site_id, event_data FROM t')
    expect(markersOf(fromDuck).sort()).toEqual([...markers].sort())
    expect(duplicates(markersOf(fromDuck))).toEqual([])
    expect(fromDuck.every((r) => r.site_id === siteId)).toBe(true)

    // The snapshot summary records this writer's WAL position next to the writer's commit id.
    const [summary] = await snapshotSummaries(events)
    expect(summary['floe.writer-id']).toMatch(/^[0-9a-f-]{36}$/)
    expect(Number(summary['floe.wal-seq'])).toBeGreaterThan(0)
    expect(summary['floe.commit-id']).toBeTruthy()
    expect(String(BigInt(report.pa_events.snapshotIds[0]))).toBe(report.pa_events.snapshotIds[0])

    // Sessions: append-only rows; the shipped view's rule gives one row per session.
    const sessions = await metadataLocation(services.db.url, 'pa_sessions')
    const sessionRows = await readWithIcebird(sessions)
    expect(sessionRows.length).toBe(report.pa_sessions.records)
    const latest = await queryWithDuckDB(sessions, duckdbSessionsQuery('t'))
    expect(latest).toHaveLength(2)
    const identified = latest.find((r) => r.session_data !== null && r.session_data !== undefined)
    expect(identified).toBeDefined()
  })

  it('admin flush needs the bearer token; a second flush with nothing new makes no snapshot', async () => {
    const res = await fetch(`${base}/api/admin/flush`, {
      method: 'POST',
      headers: { authorization: 'Bearer nope' },
    })
    // The same answer and shape as /api/sites: a wrong token is 403.
    expect(res.status).toBe(403)
    expect(((await res.json()) as { error: { code: string } }).error.code).toBe('forbidden')
    const again = await adminFlush(base)
    expect(again.status).toBe(200)
    expect(
      (again.body as { tables: { pa_events: { snapshotIds: string[] } } }).tables.pa_events.snapshotIds,
    ).toEqual([])
    expect(ADMIN_TOKEN).toBeTruthy()
  })

  it('serves the tables read-only at /iceberg/v1 (wired by createApp)', async () => {
    const res = await fetch(`${base}/iceberg/v1/namespaces/analytics/tables`)
    expect(res.status).toBe(200)
    const names = ((await res.json()) as { identifiers: { name: string }[] }).identifiers.map((i) => i.name)
    expect(names.sort()).toEqual(['pa_events', 'pa_rejected', 'pa_sessions'])
  })

  it('serves Prometheus metrics with buffer, flush and WAL figures', async () => {
    const bad = await send(base, JSON.stringify({ type: 'event', payload: { website: 'not-a-uuid' } }))
    expect(bad).toBe(400)
    const res = await fetch(`${base}/metrics`, { headers: { 'user-agent': UA } })
    expect(res.status).toBe(200)
    const text = await res.text()
    expect(text).toMatch(/floe_events_accepted_total\{table="pa_events"\} \d+/)
    expect(text).toMatch(/floe_commits_total\{table="pa_events"\} [1-9]/)
    expect(text).toMatch(/floe_flush_duration_seconds_count\{table="pa_events"\} [1-9]/)
    expect(text).toMatch(/floe_buffered_rows\{table="pa_events"\} 0/)
    expect(text).toMatch(/floe_wal_bytes \d+/)
    expect(text).toMatch(/floe_backpressure 0/)
    expect(text).toMatch(/floe_events_rejected_total\{reason="invalid"\} [1-9]/)
  })
})

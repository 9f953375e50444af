/**
 * Who runs maintenance: two replicas (two runners with their own lease owner) on one PostgreSQL
 * never maintain one table at once; a crashed holder's lease runs out; the admin route answers what
 * it did (same auth and error shape as /api/sites) and /metrics counts it. Real Postgres and a
 * real s3rver; rows are read back with icebird before and after.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { rmSync } from 'node:fs'
import { PgSql } from '../../src/storage/pg.ts'
import { openFileIO } from '../../src/storage/index.ts'
import { createCatalog } from '../../src/commit/index.ts'
import { MaintenanceLeases } from '../../src/maintenance/lease.ts'
import { MaintenanceRunner, type MaintenancePart } from '../../src/maintenance/runner.ts'
import { loadTableDefinitions } from '../../src/write/table-definition.ts'
import { loadConfig } from '../../src/config.ts'
import type { FloeApp } from '../../src/app.ts'
import { metadataLocation, readWithIcebird } from '../e2e/readback.ts'
import {
  ADMIN_TOKEN,
  createSite,
  eventBody,
  floeEnv,
  freePort,
  send,
  startInProcess,
  startServices,
  type Services,
} from '../e2e/support.ts'

let services: Services
let sql: PgSql
const apps: FloeApp[] = []
const dirs: string[] = []

beforeAll(async () => {
  services = await startServices('floe_maint_runner')
  sql = new PgSql(services.db.url)
})
afterAll(async () => {
  for (const a of apps) await a.close()
  await sql?.close()
  await services?.close()
  for (const d of dirs) rmSync(d, { recursive: true, force: true })
})

async function startApp(extra: Record<string, string> = {}) {
  const env = {
    ...floeEnv({ databaseUrl: services.db.url, s3: services.s3, port: await freePort() }),
    FLOE_MAINTENANCE_INTERVAL_SECONDS: '0',
    ...extra,
  }
  dirs.push(env.FLOE_DATA_DIR)
  const started = await startInProcess(env)
  apps.push(started.app)
  return { ...started, env }
}

describe('who runs maintenance', { timeout: 150_000 }, () => {
  it('a second replica skips a table while the first maintains it, then takes its turn', async () => {
    const { app, env } = await startApp()
    await app.flush()
    const config = loadConfig(env)
    const io = openFileIO(config)
    const catalog = await createCatalog(config, { sql, io })
    let inside = 0
    let maxInside = 0
    let open!: () => void
    const gate = new Promise<void>((r) => (open = r))
    let entered!: () => void
    const firstEntered = new Promise<void>((r) => (entered = r))
    const probe = (wait: boolean): MaintenancePart => ({
      name: 'expire',
      run: async () => {
        inside++
        maxInside = Math.max(maxInside, inside)
        entered()
        if (wait) await gate
        inside--
        return { probed: true }
      },
    })
    const runner = (owner: string, wait: boolean) =>
      new MaintenanceRunner({
        catalog,
        io,
        sql,
        namespace: ['analytics'],
        definitions: loadTableDefinitions(),
        config: {
          ...config.maintenance,
          compaction: { ...config.maintenance.compaction, enabled: false },
          orphans: { ...config.maintenance.orphans, enabled: false },
        },
        extraParts: [probe(wait)],
        owner,
      })
    const a = runner('replica-a', true)
    const b = runner('replica-b', false)
    const first = a.run({ tables: ['pa_events'] })
    await firstEntered
    const second = await b.run({ tables: ['pa_events'] })
    expect(second.tables.pa_events?.skipped).toMatch(
      /another replica holds the maintenance lease \(replica-a\)/,
    )
    expect(second.tables.pa_events?.parts).toEqual({})
    open()
    const done = await first
    expect(done.tables.pa_events?.parts.expire).toMatchObject({ outcome: 'ok', report: { probed: true } })
    // Released: the other replica now runs.
    const third = await b.run({ tables: ['pa_events'] })
    expect(third.tables.pa_events?.parts.expire?.outcome).toBe('ok')
    expect(maxInside).toBe(1)
    await catalog.close()
  })

  it("a crashed holder's lease runs out; the holder then knows it lost it", async () => {
    const key = `table:${crypto.randomUUID()}`
    const crashed = new MaintenanceLeases(sql, 'crashed', 1000)
    const other = new MaintenanceLeases(sql, 'other', 1000)
    expect(await crashed.tryAcquire(key)).toBe(true)
    expect(await other.tryAcquire(key)).toBe(false)
    await new Promise((r) => setTimeout(r, 1300)) // the holder never renews nor releases
    expect(await other.tryAcquire(key)).toBe(true)
    expect(await crashed.stillHeld(key)).toBe(false)
    expect(await crashed.renew(key)).toBe(false)
    expect(await other.stillHeld(key)).toBe(true)
  })

  it('POST /api/admin/maintenance compacts, answers what it did, and /metrics counts it', async () => {
    const { app, base, env } = await startApp({ FLOE_MAINTENANCE_COMPACT_QUIET_MINUTES: '0' })
    const siteId = await createSite(services.db.url)
    for (let i = 0; i < 6; i++) {
      for (let k = 0; k < 3; k++) expect(await send(base, eventBody(siteId, `m${i}-${k}`))).toBe(200)
      await app.flush()
    }
    const location = await metadataLocation(services.db.url, 'pa_events')
    const before = await readWithIcebird(location)
    expect(before.length).toBeGreaterThanOrEqual(18)

    const sites = await fetch(`${base}/api/sites`, { headers: { authorization: 'Bearer wrong' } })
    const noAuth = await fetch(`${base}/api/admin/maintenance`, { method: 'POST' })
    const wrong = await fetch(`${base}/api/admin/maintenance`, {
      method: 'POST',
      headers: { authorization: 'Bearer wrong' },
    })
    expect(noAuth.status).toBe(401)
    expect(wrong.status).toBe(403)
    expect(await wrong.json()).toEqual(await sites.json())

    const res = await fetch(`${base}/api/admin/maintenance`, {
      method: 'POST',
      headers: { authorization: `Bearer ${ADMIN_TOKEN}`, 'content-type': 'application/json' },
      body: JSON.stringify({ tables: ['pa_events'], parts: ['compaction', 'orphans'] }),
    })
    expect(res.status).toBe(200)
    const report = (await res.json()) as {
      tables: Record<string, { parts: Record<string, { outcome: string; report: Record<string, number> }> }>
    }
    const compaction = report.tables.pa_events.parts.compaction
    expect(compaction.outcome).toBe('ok')
    expect(compaction.report.filesRewritten).toBeGreaterThanOrEqual(6)
    expect(report.tables.pa_events.parts.orphans.outcome).toBe('ok')
    expect(report.tables.pa_sessions).toBeUndefined()

    const after = await readWithIcebird(await metadataLocation(services.db.url, 'pa_events'))
    const key = (r: Record<string, unknown>) => String(r.event_id)
    expect(after.map(key).sort()).toEqual(before.map(key).sort())

    const bad = await fetch(`${base}/api/admin/maintenance`, {
      method: 'POST',
      headers: { authorization: `Bearer ${ADMIN_TOKEN}`, 'content-type': 'application/json' },
      body: JSON.stringify({ parts: ['vacuum'] }),
    })
    expect(bad.status).toBe(400)

    // No body: every table, every enabled part; nothing left to compact, both tables reported.
    const all = await fetch(`${base}/api/admin/maintenance`, {
      method: 'POST',
      headers: { authorization: `Bearer ${ADMIN_TOKEN}` },
    })
    expect(all.status).toBe(200)
    const allReport = (await all.json()) as typeof report
    expect(Object.keys(allReport.tables).sort()).toEqual(['pa_events', 'pa_rejected', 'pa_sessions'])
    expect(allReport.tables.pa_events.parts.compaction.report.filesRewritten).toBe(0)

    const metrics = await (await fetch(`${base}/metrics`)).text()
    expect(metrics).toMatch(
      /floe_maintenance_runs_total\{table="pa_events",part="compaction",outcome="ok"\} [1-9]/,
    )
    expect(metrics).toMatch(/floe_maintenance_files_rewritten_total\{table="pa_events"\} [1-9]/)
    expect(metrics).toMatch(
      /floe_maintenance_duration_seconds_count\{table="pa_events",part="compaction"\} [1-9]/,
    )
    void env
  })
})

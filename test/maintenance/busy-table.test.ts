/**
 * A busy table: commits far more often than the maintenance schedule runs (at 10k events/s the
 * 1000-event trigger fires ten times a second). With the schedule off entirely, the table's history
 * must still stay bounded by `floe.history.max-snapshots`, because each committed append triggers
 * expiry once the history reaches twice the bound (MaintenanceRunner.afterAppend). Real Postgres
 * catalog and a real s3rver; rows read back with icebird.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { rmSync } from 'node:fs'
import type { FloeApp } from '../../src/app.ts'
import { loadConfig } from '../../src/config.ts'
import { createCatalog } from '../../src/commit/index.ts'
import { openFileIO } from '../../src/storage/index.ts'
import { PgSql } from '../../src/storage/pg.ts'
import { metadataLocation, readWithIcebird } from '../e2e/readback.ts'
import {
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
let app: FloeApp | undefined
const dirs: string[] = []

beforeAll(async () => {
  services = await startServices('floe_busy_table')
  sql = new PgSql(services.db.url)
})
afterAll(async () => {
  await app?.close()
  await sql?.close()
  await services?.close()
  for (const d of dirs) rmSync(d, { recursive: true, force: true })
})

describe('a table that commits faster than the schedule', { timeout: 240_000 }, () => {
  it('keeps its history near floe.history.max-snapshots with the schedule off, and every event once', async () => {
    const env = {
      ...floeEnv({ databaseUrl: services.db.url, s3: services.s3, port: await freePort() }),
      FLOE_MAINTENANCE_INTERVAL_SECONDS: '0',
    }
    dirs.push(env.FLOE_DATA_DIR)
    const started = await startInProcess(env)
    app = started.app
    const siteId = await createSite(services.db.url)

    // A small bound so the test commits a few dozen times instead of hundreds.
    const config = loadConfig(env)
    const catalog = await createCatalog(config, { sql, io: openFileIO(config) })
    const id = { namespace: ['analytics'], name: 'pa_events' }
    await catalog.commit(
      id,
      [],
      [{ action: 'set-properties', updates: { 'floe.history.max-snapshots': '5' } }],
    )

    const commits = 40
    let peak = 0
    for (let i = 0; i < commits; i++) {
      expect(await send(started.base, eventBody(siteId, `busy-${i}`))).toBe(200)
      await app.flush()
      const loaded = await catalog.loadTable(id)
      peak = Math.max(peak, loaded!.metadata.snapshots?.length ?? 0)
    }
    // Let a triggered expiry that is still running finish.
    await app.maintenance.stop(Date.now() + 30_000)
    const final = (await catalog.loadTable(id))!.metadata.snapshots?.length ?? 0
    await catalog.close()

    // Without the trigger the table would hold 40+ snapshots (the schedule never runs).
    expect(peak).toBeLessThan(2 * 5 + 4)
    expect(final).toBeLessThan(2 * 5 + 4)
    const rows = await readWithIcebird(await metadataLocation(services.db.url, 'pa_events'))
    const markers = rows.map((r) => (r.event_data as Record<string, string> | undefined)?.marker).sort()
    expect(markers).toEqual(Array.from({ length: commits }, (_, i) => `busy-${i}`).sort())
  })
})

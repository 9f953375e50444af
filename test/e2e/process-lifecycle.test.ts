/**
 * The process as operators run it (`node --import tsx src/main.ts`):
 * - a bad variable stops start-up with a message naming it, exit 1;
 * - SIGTERM drains: stops accepting, flushes, commits, exits 0 (no admin flush needed);
 * - the embedded default (no DATABASE_URL, no ICEBERG_S3_BUCKET): SQLite + local warehouse.
 */
import { afterAll, describe, expect, it } from 'vitest'
import { spawnSync } from 'node:child_process'
import { existsSync, mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { installFetchShim, metadataLocation, queryWithDuckDB, readWithIcebird } from './readback.ts'
import {
  ADMIN_TOKEN,
  adminFlush,
  createSite,
  eventBody,
  floeEnv,
  freePort,
  markersOf,
  send,
  spawnFloe,
  startServices,
} from './support.ts'

const cleanups: Array<() => Promise<void> | void> = []
afterAll(async () => {
  for (const c of cleanups.reverse()) await c()
})

describe('process lifecycle', () => {
  it('a config error names the variable and exits 1', () => {
    const r = spawnSync(process.execPath, ['--import', 'tsx', 'src/main.ts'], {
      env: { ...process.env, PORT: 'eighty', FLOE_DATA_DIR: mkdtempSync(path.join(tmpdir(), 'floe-cfg-')) },
      encoding: 'utf8',
      timeout: 30_000,
    })
    expect(r.status).toBe(1)
    expect(r.stderr).toMatch(/configuration error: PORT: must be an integer/)
  })

  it('SIGTERM stops accepting, flushes, commits and exits 0', async () => {
    const services = await startServices('floe_term')
    cleanups.push(() => services.close())
    const { db, s3 } = services
    const siteId = await createSite(db.url)
    const env = {
      ...floeEnv({ databaseUrl: db.url, s3, port: await freePort() }),
      ICEBERG_FLUSH_INTERVAL_SECONDS: '3600',
    }
    cleanups.push(() => rmSync(env.FLOE_DATA_DIR, { recursive: true, force: true }))
    const floe = await spawnFloe(env)
    const markers = Array.from({ length: 25 }, (_, i) => `term-${i}`)
    for (const m of markers) expect(await send(floe.base, eventBody(siteId, m))).toBe(200)
    const t0 = Date.now()
    floe.child.kill('SIGTERM')
    expect(await floe.exited).toBe(0)
    expect(Date.now() - t0).toBeLessThan(25_000)
    const landed = markersOf(await readWithIcebird(await metadataLocation(db.url, 'pa_events')))
    expect(landed.sort()).toEqual(markers.sort())
  })

  it(
    'embedded default: SQLite catalog and a local-folder warehouse under FLOE_DATA_DIR',
    { timeout: 150_000 },
    async () => {
      const dataDir = mkdtempSync(path.join(tmpdir(), 'floe-embedded-'))
      cleanups.push(() => rmSync(dataDir, { recursive: true, force: true }))
      installFetchShim()
      // Allow for a slow, shared CI machine.
      const env = { PORT: String(await freePort()), HOST: '127.0.0.1', FLOE_DATA_DIR: dataDir, ADMIN_TOKEN }
      const floe = await spawnFloe(env, { startTimeoutMs: 90_000 })
      cleanups.push(() => void floe.child.kill('SIGKILL'))
      const created = await fetch(`${floe.base}/api/sites`, {
        method: 'POST',
        headers: { authorization: `Bearer ${ADMIN_TOKEN}`, 'content-type': 'application/json' },
        body: JSON.stringify({ name: 'embedded', domains: ['example.com'] }),
      })
      expect(created.status).toBe(201)
      const siteId = ((await created.json()) as { id: string }).id
      for (const m of ['emb-0', 'emb-1', 'emb-2'])
        expect(await send(floe.base, eventBody(siteId, m))).toBe(200)
      const flushed = await adminFlush(floe.base)
      expect(flushed.status).toBe(200)
      const location = (flushed.body as { tables: { pa_events: { metadataLocation: string } } }).tables
        .pa_events.metadataLocation
      expect(location.startsWith(`file://${path.join(dataDir, 'warehouse')}/`)).toBe(true)
      expect(existsSync(path.join(dataDir, 'floe.sqlite'))).toBe(true)
      expect(markersOf(await readWithIcebird(location)).sort()).toEqual(['emb-0', 'emb-1', 'emb-2'])
      const fromDuck = await queryWithDuckDB(location, 'SELECT url_path, event_data FROM t')
      expect(markersOf(fromDuck).sort()).toEqual(['emb-0', 'emb-1', 'emb-2'])
      floe.child.kill('SIGTERM')
      expect(await floe.exited).toBe(0)
    },
  )
})

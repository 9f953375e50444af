/**
 * A busy table with a real clock: Floe as `npm start` builds it (default settings, maintenance on,
 * its hourly schedule never reached), in this process, committing as fast as it can — one `/api/send`
 * and one flush per commit, the way a table fed at 10k events/s hits the 1000-event trigger ten
 * times a second. Only the commit-triggered expiry (`MaintenanceRunner.afterAppend`, docs/maintenance.md)
 * can keep such a table bounded; this shows it does.
 *
 * Printed every BUSY_EVERY commits: process CPU per commit cycle (median over the last interval;
 * the send, the flush and whatever maintenance ran beside them), the table's snapshots, manifests in
 * the current list, metadata.json files and bytes of the metadata folder on disk, and the ratio of
 * the last interval's CPU to the first's (target: within 1.5x after 1,500 commits).
 *
 *   BUSY_COMMITS=1500 BUSY_EVERY=250 npx tsx bench/busy-table.ts
 */
import { mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { loadConfig } from '../src/config.ts'
import { createCatalog } from '../src/commit/index.ts'
import { openFileIO } from '../src/storage/index.ts'
import { PgSql } from '../src/storage/pg.ts'
import { snapshotContents } from '../src/scan/snapshot.ts'
import { ADMIN_TOKEN, createSite, eventBody, send, startInProcess } from '../test/e2e/support.ts'
import { createTestDatabase } from '../test/support/pg.ts'
import { median } from './support/process.ts'

const COMMITS = Number(process.env.BUSY_COMMITS ?? 1500)
const EVERY = Number(process.env.BUSY_EVERY ?? 250)

const db = await createTestDatabase('floe_busy_bench')
const dataDir = mkdtempSync(path.join(tmpdir(), 'floe-busy-'))
const env = {
  PORT: '0',
  HOST: '127.0.0.1',
  DATABASE_URL: db.url,
  APP_SECRET: 'bench',
  ADMIN_TOKEN,
  FLOE_DATA_DIR: dataDir,
  RATE_LIMIT_IP_PER_MINUTE: '0',
  RATE_LIMIT_SITE_PER_MINUTE: '0',
  LOG_LEVEL: 'warn',
}
const { app, base } = await startInProcess(env)
const sql = new PgSql(db.url)
const config = loadConfig(env)
const io = openFileIO(config)
const catalog = await createCatalog(config, { sql, io })
const id = { namespace: [config.iceberg.namespace], name: 'pa_events' }
const siteId = await createSite(db.url)

function folder(dir: string): { jsonFiles: number; bytes: number } {
  let jsonFiles = 0
  let bytes = 0
  for (const f of readdirSync(dir)) {
    if (f.endsWith('.metadata.json')) jsonFiles++
    bytes += statSync(path.join(dir, f)).size
  }
  return { jsonFiles, bytes }
}

console.log(
  `busy table: ${COMMITS} commits of pa_events (one send + one flush each), default settings, real clock`,
)
console.log(
  'commits | CPU/commit (median) | snapshots | manifests/list | metadata.json files | metadata bytes | wall s',
)
const cpu: number[] = []
let first = NaN
let last = NaN
const t0 = performance.now()
try {
  for (let i = 0; i < COMMITS; i++) {
    const c0 = process.cpuUsage()
    const status = await send(base, eventBody(siteId, `busy-${i}`), `198.51.100.${i % 250}`)
    if (status !== 200) throw new Error(`send ${i}: ${status}`)
    await app.flush()
    const c = process.cpuUsage(c0)
    cpu.push((c.user + c.system) / 1000)
    if ((i + 1) % EVERY === 0) {
      const t = (await catalog.loadTable(id))!
      const contents = await snapshotContents(io, t.metadata)
      const m = folder(path.dirname(fileURLToPath(t.metadataLocation)))
      const ms = median(cpu)
      if (Number.isNaN(first)) first = ms
      last = ms
      console.log(
        `${i + 1} | ${ms.toFixed(1)} ms | ${t.metadata.snapshots?.length ?? 0} | ${contents.manifests.length} | ` +
          `${m.jsonFiles} | ${(m.bytes / 2 ** 20).toFixed(1)} MB | ${((performance.now() - t0) / 1000).toFixed(0)}`,
      )
      cpu.length = 0
    }
  }
  console.log(`CPU per commit, last interval / first: ${(last / first).toFixed(2)}x (target <= 1.5x)`)
} finally {
  await app.close()
  await catalog.close()
  await sql.close()
  await db.drop()
  rmSync(dataDir, { recursive: true, force: true })
}

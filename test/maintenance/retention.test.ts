/**
 * Per-site retention against the real JDBC catalog in PostgreSQL and a real S3-protocol server
 * (s3rver), run by the maintenance runner under its lease: exactly the expired partitions of each
 * site go (other sites and recent days untouched), as DuckDB (over the files python3-avro lists)
 * and icebird (full scan) read the tables; whole files leave by a metadata-only `delete` snapshot;
 * a `pa_sessions` day file holding a kept site's row is rewritten without the expired rows
 * (`overwrite`); a dry run changes nothing; a second run finds nothing; the metrics count it.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { rmSync } from 'node:fs'
import { JdbcCatalog } from '../../src/commit/jdbc.ts'
import { PgSql } from '../../src/storage/pg.ts'
import { S3FileIO } from '../../src/storage/s3.ts'
import { createTableWriter, type TableWriter } from '../../src/write/append.ts'
import { loadTableDefinitions } from '../../src/write/table-definition.ts'
import { MaintenanceRunner } from '../../src/maintenance/runner.ts'
import type { RetentionPolicy } from '../../src/maintenance/retention.ts'
import { loadConfig } from '../../src/config.ts'
import { metrics, registry } from '../../src/observe/metrics.ts'
import type { EventRow, SessionRow } from '../../src/rows.ts'
import { createTestDatabase } from '../support/pg.ts'
import { startTestS3, type TestS3, testS3FileIO } from '../support/s3.ts'
import { eventRow, sampleUuid, sessionRow } from '../support/rows.ts'
import { currentDataFiles, expectDuckDbRows, expectIcebirdRows, type S3Paths } from '../support/append-e2e.ts'

const DAY_US = 86_400_000_000
const A = 'a0000000-0000-4000-8000-00000000000a'
const B = 'b0000000-0000-4000-8000-00000000000b'
const C = 'c0000000-0000-4000-8000-00000000000c'
/** A: 7 days, B: 30 days, C: no setting and no default (kept forever). */
const policy: RetentionPolicy = {
  sites: new Map([
    [A, 7],
    [B, 30],
  ]),
  defaultDays: 0,
  daysFor: (s) => (s === A ? 7 : s === B ? 30 : 0),
}

let s3: TestS3
let paths: S3Paths
let io: S3FileIO
let db: { url: string; drop: () => Promise<void> }
let sql: PgSql
let catalog: JdbcCatalog
let writer: TableWriter
let runner: MaintenanceRunner
let events: EventRow[] = []
let sessions: SessionRow[] = []
const today = Math.floor(Date.now() / 86_400_000)
/** Noon UTC of `daysAgo` days before today, in µs. */
const at = (daysAgo: number) => (today - daysAgo) * DAY_US + DAY_US / 2

let n = 0
function ev(site: string, daysAgo: number): EventRow {
  n++
  return eventRow({
    site_id: site,
    event_time: at(daysAgo) + n,
    received_at: at(0),
    session_id: sampleUuid(7, n),
  })
}

async function expectTables(): Promise<void> {
  const e = await writer.load('pa_events')
  await expectDuckDbRows('pa_events', currentDataFiles(e, paths), events, paths)
  await expectIcebirdRows('pa_events', e, events, paths)
  const s = await writer.load('pa_sessions')
  await expectDuckDbRows('pa_sessions', currentDataFiles(s, paths), sessions, paths)
  await expectIcebirdRows('pa_sessions', s, sessions, paths)
}

beforeAll(async () => {
  s3 = await startTestS3('floe-retention')
  paths = { dir: s3.dir, endpoint: s3.endpoint }
  io = testS3FileIO(s3)
  db = await createTestDatabase('floe_retention')
  sql = new PgSql(db.url)
  catalog = new JdbcCatalog({ sql, io, name: 'floe' })
  writer = createTableWriter({ catalog, io, namespace: ['analytics'], warehouse: `s3://${s3.bucket}/wh` })
  await writer.ensureTables()
  const config = loadConfig({})
  runner = new MaintenanceRunner({
    catalog,
    io,
    sql,
    namespace: ['analytics'],
    definitions: loadTableDefinitions(),
    config: {
      ...config.maintenance,
      expire: { enabled: false },
      compaction: { ...config.maintenance.compaction, enabled: false },
      orphans: { ...config.maintenance.orphans, enabled: false },
    },
    retention: async () => policy,
  })
  // One append writes one file per partition (site, day); a second gives A's day 40 two files.
  const all = [A, B, C].flatMap((site) =>
    [0, 1, 6, 7, 8, 10, 31, 40].flatMap((daysAgo) => [ev(site, daysAgo), ev(site, daysAgo)]),
  )
  await writer.append('pa_events', all)
  events.push(...all)
  const extra = [ev(A, 40)]
  await writer.append('pa_events', extra)
  events.push(...extra)
  // pa_sessions is partitioned by day only: each day's file holds every site. Day 50 only had
  // expiring sites: that whole file goes.
  const days = [1, 10, 40].flatMap((daysAgo) =>
    [A, B, C].map((site, i) =>
      sessionRow({
        session_id: sampleUuid(9, daysAgo * 10 + i),
        site_id: site,
        created_at: at(daysAgo),
        updated_at: at(daysAgo),
      }),
    ),
  )
  const gone = [A, B].map((site, i) =>
    sessionRow({ session_id: sampleUuid(9, 500 + i), site_id: site, created_at: at(50), updated_at: at(50) }),
  )
  await writer.append('pa_sessions', [...days, ...gone])
  sessions.push(...days, ...gone)
}, 180_000)

afterAll(async () => {
  await io?.close()
  await s3?.stop()
  await sql?.close()
  await db?.drop()
  if (s3) rmSync(s3.dir, { recursive: true, force: true })
})

/** A row expires when its day is more than the site's days before today. */
const kept = (site: string, day: number) => {
  const d = policy.daysFor(site)
  return d === 0 || day >= today - d
}
const dayOf = (us: number) => Math.floor(us / DAY_US)

describe('per-site retention', { timeout: 120_000 }, () => {
  it('a dry run reports the expired partitions and changes nothing', async () => {
    const before = await writer.load('pa_events')
    const report = await runner.run({ dryRun: true })
    const ev = report.tables.pa_events!.parts.retention!
    expect(ev.outcome).toBe('ok')
    expect(ev.report).toMatchObject({ dryRun: true, filesDeleted: 7, recordsDeleted: 13, filesRewritten: 0 })
    const day = (d: number) => new Date((today - d) * 86_400_000).toISOString().slice(0, 10)
    expect(ev.report!.partitions).toEqual(
      [
        `${A}/${day(40)}: 2 files, 3 rows`,
        `${A}/${day(31)}: 1 files, 2 rows`,
        `${A}/${day(10)}: 1 files, 2 rows`,
        `${A}/${day(8)}: 1 files, 2 rows`,
        `${B}/${day(40)}: 1 files, 2 rows`,
        `${B}/${day(31)}: 1 files, 2 rows`,
      ].sort(),
    )
    expect(report.tables.pa_sessions!.parts.retention!.report).toMatchObject({
      dryRun: true,
      filesDeleted: 1,
      filesRewritten: 2,
      recordsDeleted: 2 + 1 + 2,
    })
    const after = await writer.load('pa_events')
    expect(after.metadata['current-snapshot-id']).toBe(before.metadata['current-snapshot-id'])
    await expectTables()
  })

  it('removes exactly the expired partitions of each site, metadata-only, and nothing else', async () => {
    const filesBefore = currentDataFiles(await writer.load('pa_events'), paths)
    const deletedBefore =
      (await metrics.retentionFilesDeleted.get()).values.find((v) => v.labels.table === 'pa_events')?.value ??
      0
    const report = await runner.run({})
    expect(report.tables.pa_events!.parts.retention).toMatchObject({
      outcome: 'ok',
      report: { dryRun: false, filesDeleted: 7, recordsDeleted: 13, filesRewritten: 0, filesWritten: 0 },
    })
    events = events.filter((r) => kept(r.site_id, dayOf(r.event_time)))
    sessions = sessions.filter((r) => kept(r.site_id, dayOf(r.created_at)))
    expect(events.length).toBe(3 * 8 * 2 + 1 - 13)
    await expectTables()

    const loaded = await writer.load('pa_events')
    const snap = loaded.metadata.snapshots.at(-1)!
    expect(snap.summary).toMatchObject({
      operation: 'delete',
      'deleted-data-files': '7',
      'deleted-records': '13',
      'changed-partition-count': '6',
      'total-records': String(events.length),
      'total-data-files': String(filesBefore.length - 7),
      'floe.maintenance': 'retention',
    })
    expect(snap.summary['added-data-files']).toBeUndefined()
    // Metadata-only: every file left is one that was there before.
    const after = currentDataFiles(loaded, paths).map((f) => f.file_path)
    expect(after.every((p) => filesBefore.some((f) => f.file_path === p))).toBe(true)

    // pa_sessions: the day-50 file went whole; the day-10 and day-40 files were rewritten
    // keeping C's (and on day 10, B's) rows.
    const s = (await writer.load('pa_sessions')).metadata.snapshots.at(-1)!
    expect(s.summary).toMatchObject({
      operation: 'overwrite',
      'deleted-data-files': '3',
      'added-data-files': '2',
      'deleted-records': String(3 + 3 + 2),
      'added-records': '3',
    })
    const deletedAfter = (await metrics.retentionFilesDeleted.get()).values.find(
      (v) => v.labels.table === 'pa_events',
    )!.value
    expect(deletedAfter - deletedBefore).toBe(7)
    const text = await registry.metrics()
    expect(text).toMatch(/floe_retention_records_deleted_total\{table="pa_events"\} \d+/)
  })

  it('is idempotent: a second run removes nothing and commits nothing', async () => {
    const e = await writer.load('pa_events')
    const s = await writer.load('pa_sessions')
    const report = await runner.run({})
    expect(report.tables.pa_events!.parts.retention!.report).toMatchObject({
      filesDeleted: 0,
      recordsDeleted: 0,
    })
    expect(report.tables.pa_sessions!.parts.retention!.report).toMatchObject({
      filesDeleted: 0,
      filesRewritten: 0,
      recordsDeleted: 0,
    })
    expect((await writer.load('pa_events')).metadata['current-snapshot-id']).toBe(
      e.metadata['current-snapshot-id'],
    )
    expect((await writer.load('pa_sessions')).metadata['current-snapshot-id']).toBe(
      s.metadata['current-snapshot-id'],
    )
    await expectTables()
  })
})

/**
 * The query layer on real tables (Postgres JDBC catalog, local warehouse written by Floe's writer):
 * partition pruning by day and site, the scan bounds, columns the table lacks, the sessions dedup
 * rule, live rows counted exactly once when a commit lands between taking them and loading the
 * table, and the bounded S3 file cache (s3rver). Expected values are counted from the rows the test
 * wrote, not by the layer.
 */
import { mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { loadConfig, type FloeConfig } from '../../src/config.ts'
import { createCatalog } from '../../src/commit/index.ts'
import { openFileIO, openSql } from '../../src/storage/index.ts'
import { createTableWriter, type TableWriter } from '../../src/write/append.ts'
import { QueryLayer, type LiveSource } from '../../src/report/query-layer.ts'
import { DataFileCache } from '../../src/report/file-cache.ts'
import { QueryTimeoutError, ValidationError } from '../../src/errors.ts'
import { propertiesFor, WAL_SEQ_KEY, WRITER_ID_KEY } from '../../src/buffer/recovery.ts'
import type { Catalog } from '../../src/table/index.ts'
import type { SqlClient } from '../../src/storage/sql.ts'
import type { Row } from '../../src/rows.ts'
import { createTestDatabase } from '../support/pg.ts'
import { startTestS3, testS3FileIO, type TestS3 } from '../support/s3.ts'
import { eventRow, sessionRow, SITES } from '../support/rows.ts'

const DAY = 86_400_000_000 // µs
const T = Date.UTC(2026, 10, 20) * 1000 // 2026-11-20T00:00Z in µs

let db: { url: string; drop: () => Promise<void> }
let sql: SqlClient
let catalog: Catalog
let writer: TableWriter
let config: FloeConfig
let layer: QueryLayer
let live: Row[] = []
let liveSeq = 0
const liveSource: LiveSource = {
  pending: (table) => ({
    writerId: 'test-writer',
    entries: table === 'pa_events' ? [{ seq: liveSeq, rows: live }] : [],
  }),
}

beforeAll(async () => {
  db = await createTestDatabase('reporting_layer')
  config = loadConfig({
    DATABASE_URL: db.url,
    APP_SECRET: 's',
    FLOE_DATA_DIR: mkdtempSync(path.join(tmpdir(), 'floe-report-')),
    FLOE_REPORT_MAX_FILES: '5',
  })
  sql = await openSql(config)
  const io = openFileIO(config)
  catalog = await createCatalog(config, { sql, io })
  writer = createTableWriter({ catalog, io, config })
  await writer.ensureTables()
  // Two sites × three days, one commit per (site, day): 6 files, 2 + 3 + 4 rows per day and site.
  for (const site of SITES)
    for (let d = 0; d < 3; d++)
      await writer.append(
        'pa_events',
        Array.from({ length: d + 2 }, (_, i) =>
          eventRow({
            site_id: site,
            session_id: `s-${d}-${i % 2}`,
            visit_id: `v-${d}-${i}`,
            event_time: T + d * DAY + i * 1_000_000,
            event_type: 1,
            url_path: `/p${i}`,
          }),
        ),
      )
  // pa_sessions: the same session written twice (identify later), plus one other session.
  await writer.append('pa_sessions', [
    sessionRow({
      session_id: 'a',
      site_id: SITES[0],
      created_at: T,
      updated_at: T,
      browser: 'firefox',
      session_data: { plan: 'free' },
    }),
    sessionRow({ session_id: 'b', site_id: SITES[0], created_at: T, updated_at: T, browser: 'chrome' }),
  ])
  await writer.append('pa_sessions', [
    sessionRow({
      session_id: 'a',
      site_id: SITES[0],
      created_at: T + DAY,
      updated_at: T + DAY,
      browser: 'safari',
      session_data: { seats: '3' },
    }),
  ])
  layer = await QueryLayer.open({
    catalog,
    io,
    namespace: ['analytics'],
    config: config.report,
    live: liveSource,
  })
}, 60_000)

afterAll(async () => {
  layer?.close()
  await catalog?.close()
  await sql?.close()
  await db?.drop()
})

const day = (d: number) => new Date((T + d * DAY) / 1000)

describe('planning', () => {
  it('prunes by day and site: one file for one site and one day', async () => {
    const rows = await layer.query<{ n: number }>(
      { siteIds: [SITES[1]], from: day(1), to: new Date(day(2).getTime() - 1), events: ['url_path'] },
      'SELECT count(*)::BIGINT AS n FROM events',
    )
    expect(rows).toEqual([{ n: 3 }])
    expect(layer.lastScan.files).toBe(1)
  })

  it('filters rows inside a file by the exact range, not only by day', async () => {
    const from = new Date((T + 2 * DAY + 1_000_000) / 1000)
    const [r] = await layer.query<{ n: number }>(
      { siteIds: [SITES[0]], from, to: day(3), events: [] },
      'SELECT count(*)::BIGINT AS n FROM events',
    )
    expect(r.n).toBe(3) // rows 1..3 of day 2 (row 0 is one second before `from`)
  })

  it('refuses a scan over FLOE_REPORT_MAX_FILES with a 400 naming the range parameter', async () => {
    const err = await layer
      .query(
        { siteIds: SITES, from: day(0), to: day(3), events: [], rangeParam: 'from' },
        'SELECT 1 FROM events',
      )
      .catch((e: unknown) => e)
    expect(err).toBeInstanceOf(ValidationError)
    expect((err as ValidationError).field).toBe('from')
  })

  it('reads columns the table does not have as NULL', async () => {
    const rows = await layer.query<{ campaign_id: null; source: null; sample_rate: null }>(
      { siteIds: [SITES[0]], from: day(0), to: day(1), events: ['campaign_id', 'source', 'sample_rate'] },
      'SELECT DISTINCT campaign_id, source, sample_rate FROM events',
    )
    expect(rows).toEqual([{ campaign_id: null, source: null, sample_rate: null }])
  })
})

describe('bounds', () => {
  it('interrupts a query past FLOE_REPORT_QUERY_TIMEOUT_SECONDS (QueryTimeoutError, answered 503)', async () => {
    const slow = await QueryLayer.open({
      catalog,
      io: openFileIO(config),
      namespace: ['analytics'],
      config: { ...config.report, queryTimeoutSeconds: 1, cacheDir: `${config.report.cacheDir}-slow` },
    })
    try {
      const started = Date.now()
      const err = await slow
        .query(
          { siteIds: [SITES[0]], from: day(0), to: day(1), events: [] },
          'SELECT count(*) FROM range(1000000000000) a WHERE a.range % 7 = 3',
        )
        .catch((e: unknown) => e)
      expect(err).toBeInstanceOf(QueryTimeoutError)
      expect(Date.now() - started).toBeLessThan(15_000)
    } finally {
      slow.close()
    }
  })
})

describe('sessions', () => {
  it('are deduplicated as dev/sessions-view.sql: latest attributes, data merged per key', async () => {
    const rows = await layer.query<{ session_id: string; browser: string; plan: string; seats: string }>(
      { siteIds: [SITES[0]], from: day(0), to: day(3), sessions: true },
      `SELECT session_id, browser, session_data['plan'] AS plan, session_data['seats'] AS seats
       FROM sessions ORDER BY session_id`,
    )
    expect(rows).toEqual([
      { session_id: 'a', browser: 'safari', plan: 'free', seats: '3' },
      { session_id: 'b', browser: 'chrome', plan: null, seats: null },
    ])
  })
})

describe('live rows', () => {
  const count = async () =>
    (
      await layer.query<{ n: number }>(
        { siteIds: [SITES[0]], from: day(5), to: day(6), events: [] },
        'SELECT count(*)::BIGINT AS n FROM events',
      )
    )[0].n

  it('counts unflushed rows, and once only after their commit lands', async () => {
    live = [0, 1, 2].map((i) => eventRow({ site_id: SITES[0], event_time: T + 5 * DAY + i, event_type: 1 }))
    liveSeq = 7
    expect(await count()).toBe(3)
    // The commit lands (as the buffer's flusher does it, with its WAL position) while the buffer
    // still lists the rows, e.g. a query that took them just before: they must not count twice.
    await writer.append('pa_events', live, {
      summary: { [WRITER_ID_KEY]: 'test-writer', [WAL_SEQ_KEY]: '7' },
      properties: propertiesFor('test-writer', 7),
    })
    expect(await count()).toBe(3)
    live = []
    expect(await count()).toBe(3)
  })
})

describe('the S3 file cache', () => {
  let s3: TestS3
  beforeAll(async () => {
    s3 = await startTestS3('floe-report-cache')
  })
  afterAll(async () => {
    await s3?.stop()
  })

  it('keeps copies within its bound, never evicting files in use', async () => {
    const io = testS3FileIO(s3)
    const uris = [0, 1, 2].map((i) => `s3://${s3.bucket}/f${i}.parquet`)
    for (const u of uris) await io.write(u, new Uint8Array(1000))
    const cache = new DataFileCache(io, mkdtempSync(path.join(tmpdir(), 'floe-cache-')), 2500)
    const a = await cache.acquire(uris)
    expect(cache.sizeBytes).toBe(3000) // all pinned: over the bound until released
    a.release()
    expect(cache.sizeBytes).toBeLessThanOrEqual(2500)
    const b = await cache.acquire([uris[2]])
    expect(cache.hits).toBe(1) // the most recent file stayed
    b.release()
    await cache.acquire([uris[0]]).then((x) => x.release())
    expect(cache.misses).toBe(4) // evicted earlier, fetched again
  })
})

/**
 * End to end, S3 warehouse: createTableWriter → S3FileIO (a real s3rver process) → JDBC catalog in
 * real PostgreSQL; read back by DuckDB from s3rver's folder (no httpfs offline) and by icebird over
 * HTTP from s3rver. The S3 server is stopped in the middle of an append to show that an upload
 * failure leaves no half-committed snapshot.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { rmSync } from 'node:fs'
import { JdbcCatalog } from '../../src/commit/jdbc.ts'
import type { LoadedTable } from '../../src/table/catalog.ts'
import { PgSql } from '../../src/storage/pg.ts'
import { S3FileIO } from '../../src/storage/s3.ts'
import type { FileIO } from '../../src/storage/file-io.ts'
import { createTableWriter, type TableWriter } from '../../src/write/append.ts'
import { loadTableDefinitions } from '../../src/write/table-definition.ts'
import type { EventRow, SessionRow } from '../../src/rows.ts'
import { createTestDatabase } from '../support/pg.ts'
import { startTestS3, type TestS3, testS3FileIO } from '../support/s3.ts'
import { sampleEvents, sampleSessions } from '../support/rows.ts'
import {
  currentDataFiles,
  expectDuckDbRows,
  expectIcebirdRows,
  expectParquetSchemas,
  type S3Paths,
} from '../support/append-e2e.ts'

const defs = loadTableDefinitions()
let s3: TestS3
let paths: S3Paths
let io: S3FileIO
let db: { url: string; drop: () => Promise<void> }
let sql: PgSql
let writer: TableWriter
let warehouse: string
const events: EventRow[] = [...sampleEvents(250, 0, 0), ...sampleEvents(150, 0, 250)]
const sessions: SessionRow[] = sampleSessions(80)

function s3IO(): S3FileIO {
  return testS3FileIO(s3)
}

beforeAll(async () => {
  s3 = await startTestS3('floe-lake')
  paths = { dir: s3.dir, endpoint: s3.endpoint }
  warehouse = `s3://${s3.bucket}/product-analytics`
  io = s3IO()
  db = await createTestDatabase()
  sql = new PgSql(db.url)
  const catalog = new JdbcCatalog({ sql, io, name: 'floe_s3' })
  writer = createTableWriter({ catalog, io, namespace: ['analytics'], warehouse })
  await writer.ensureTables()
  await writer.append('pa_events', events.slice(0, 250))
  await writer.append('pa_events', events.slice(250))
  await writer.append('pa_sessions', sessions)
})

afterAll(async () => {
  await io?.close()
  await s3?.stop()
  await sql?.close()
  await db?.drop()
  if (s3) rmSync(s3.dir, { recursive: true, force: true })
})

describe('append into S3 through the JDBC catalog', () => {
  it('points iceberg_tables at s3:// metadata files inside the warehouse', async () => {
    const t = await writer.load('pa_events')
    expect(t.metadataLocation).toMatch(
      /^s3:\/\/floe-lake\/product-analytics\/analytics\/pa_events\/metadata\/00002-[0-9a-f-]{36}\.metadata\.json$/,
    )
    const row = await sql.query<{ metadata_location: string; table_namespace: string }>(
      "SELECT metadata_location, table_namespace FROM iceberg_tables WHERE catalog_name = 'floe_s3' AND table_name = 'pa_events'",
    )
    expect(row.rows).toEqual([{ metadata_location: t.metadataLocation, table_namespace: 'analytics' }])
    const files = currentDataFiles(t, paths)
    expect(files.every((f) => f.file_path.startsWith(`${warehouse}/analytics/pa_events/data/`))).toBe(true)
  })

  it('Parquet files in S3 carry every field id and µs UTC timestamps (DuckDB parquet_schema)', async () => {
    await expectParquetSchemas(defs.pa_events, currentDataFiles(await writer.load('pa_events'), paths), paths)
    await expectParquetSchemas(
      defs.pa_sessions,
      currentDataFiles(await writer.load('pa_sessions'), paths),
      paths,
    )
  })

  it('DuckDB read_parquet over the live files returns every row exactly', async () => {
    await expectDuckDbRows(
      'pa_events',
      currentDataFiles(await writer.load('pa_events'), paths),
      events,
      paths,
    )
    await expectDuckDbRows(
      'pa_sessions',
      currentDataFiles(await writer.load('pa_sessions'), paths),
      sessions,
      paths,
    )
  })

  it('icebird full scans over HTTP from the S3 server return every row exactly', async () => {
    await expectIcebirdRows('pa_events', await writer.load('pa_events'), events, paths)
    await expectIcebirdRows('pa_sessions', await writer.load('pa_sessions'), sessions, paths)
  })

  it('the S3 server going down mid-append leaves no half-committed snapshot', async () => {
    const before: LoadedTable = await writer.load('pa_events')
    const keysBefore = await io.list(`${before.metadata.location}/`)
    // The real S3FileIO; the server process is killed right before the manifest upload, after
    // the data files of this append were stored.
    const real = s3IO()
    let killed = false
    const dying: FileIO = {
      conditionalWrites: real.conditionalWrites,
      read: (u) => real.read(u),
      exists: (u) => real.exists(u),
      delete: (u) => real.delete(u),
      list: (p) => real.list(p),
      listWithTimes: (p) => real.listWithTimes(p),
      writeIfAbsent: (u, b) => real.writeIfAbsent(u, b),
      writeStream: (u, c) => real.writeStream(u, c),
      write: async (u, b) => {
        if (!killed && /-m\d+\.avro$/.test(u)) {
          killed = true
          await s3.stop()
        }
        return real.write(u, b)
      },
    }
    const catalog = new JdbcCatalog({ sql, io: dying, name: 'floe_s3' })
    const w = createTableWriter({ catalog, io: dying, namespace: ['analytics'], warehouse })
    try {
      await expect(w.append('pa_events', sampleEvents(40, 7, 0))).rejects.toThrow()
      expect(killed).toBe(true)
    } finally {
      await s3.start()
      await real.close()
    }
    const after = await writer.load('pa_events')
    expect(after.metadataLocation).toBe(before.metadataLocation)
    expect(after.metadata.snapshots).toHaveLength(before.metadata.snapshots.length)
    await expectIcebirdRows('pa_events', after, events, paths)
    // The data files uploaded before the outage are orphans (cleanup could not reach the server),
    // but nothing references them: the live file set is unchanged.
    const live = currentDataFiles(after, paths).map((f) => f.file_path)
    expect(live.every((f) => keysBefore.includes(f))).toBe(true)

    // With the server back, the next append commits on top.
    const extra = sampleEvents(15, 8, 0)
    await writer.append('pa_events', extra)
    await expectDuckDbRows(
      'pa_events',
      currentDataFiles(await writer.load('pa_events'), paths),
      [...events, ...extra],
      paths,
    )
  })
})

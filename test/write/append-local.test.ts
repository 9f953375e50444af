/**
 * End to end, local folder warehouse: createTableWriter → Parquet + Avro + metadata → JDBC catalog
 * in real PostgreSQL; read back by DuckDB (schemas and values) and icebird (full table scan).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { mkdtempSync, readdirSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { JdbcCatalog } from '../../src/commit/jdbc.ts'
import type { LoadedTable } from '../../src/table/catalog.ts'
import { LocalFileIO, fileUri } from '../../src/storage/local.ts'
import { PgSql } from '../../src/storage/pg.ts'
import { PGliteSql } from '../../src/storage/pglite.ts'
import { SqliteSql } from '../../src/storage/sqlite.ts'
import type { FileIO } from '../../src/storage/file-io.ts'
import { createTableWriter, type TableWriter } from '../../src/write/append.ts'
import { loadTableDefinitions } from '../../src/write/table-definition.ts'
import type { EventRow, SessionRow } from '../../src/rows.ts'
import { createTestDatabase } from '../support/pg.ts'
import { sampleEvents, sampleSessions } from '../support/rows.ts'
import {
  currentDataFiles,
  expectDuckDbRows,
  expectIcebirdRows,
  expectParquetSchemas,
} from '../support/append-e2e.ts'

const dir = mkdtempSync(path.join(tmpdir(), 'floe-append-local-'))
const warehouse = fileUri(path.join(dir, 'warehouse'))
const defs = loadTableDefinitions()
const io = new LocalFileIO()
let db: { url: string; drop: () => Promise<void> }
let sql: PgSql
let catalog: JdbcCatalog
let writer: TableWriter
const events: EventRow[] = [...sampleEvents(300, 0, 0), ...sampleEvents(200, 0, 300)]
const sessions: SessionRow[] = sampleSessions(120)
let events1: LoadedTable

beforeAll(async () => {
  db = await createTestDatabase()
  sql = new PgSql(db.url)
  catalog = new JdbcCatalog({ sql, io, name: 'floe_e2e' })
  writer = createTableWriter({ catalog, io, namespace: ['analytics'], warehouse })
  await writer.ensureTables()
  await writer.append('pa_events', events.slice(0, 300))
  events1 = await writer.load('pa_events')
  await writer.append('pa_events', events.slice(300))
  await writer.append('pa_sessions', sessions)
})

afterAll(async () => {
  await sql?.close()
  await db?.drop()
  rmSync(dir, { recursive: true, force: true })
})

describe('append into a local folder through the JDBC catalog', () => {
  it('registers every table as other engines expect them in iceberg_tables', async () => {
    const rows = await sql.query<Record<string, string | null>>(
      'SELECT catalog_name, table_namespace, table_name, metadata_location, previous_metadata_location, iceberg_type FROM iceberg_tables ORDER BY table_name',
    )
    const events2 = await writer.load('pa_events')
    expect(rows.rows.map((r) => [r.catalog_name, r.table_namespace, r.table_name, r.iceberg_type])).toEqual([
      ['floe_e2e', 'analytics', 'pa_events', 'TABLE'],
      ['floe_e2e', 'analytics', 'pa_rejected', 'TABLE'],
      ['floe_e2e', 'analytics', 'pa_sessions', 'TABLE'],
    ])
    expect(rows.rows[0].metadata_location).toBe(events2.metadataLocation)
    expect(rows.rows[0].previous_metadata_location).toBe(events1.metadataLocation)
    expect(events2.metadataLocation).toMatch(
      new RegExp(`^${warehouse}/analytics/pa_events/metadata/00002-[0-9a-f-]{36}\\.metadata\\.json$`),
    )
    const metaDir = path.join(dir, 'warehouse/analytics/pa_events/metadata')
    expect(readdirSync(metaDir).filter((f) => f.endsWith('.metadata.json'))).toHaveLength(3)
    expect(await catalog.listNamespaces()).toEqual([['analytics']])
  })

  it('keeps the snapshot chain: two appends on pa_events, each with its parent', async () => {
    const md = (await writer.load('pa_events')).metadata
    expect(md.snapshots).toHaveLength(2)
    const [s1, s2] = md.snapshots
    expect(s2['parent-snapshot-id']).toBe(s1['snapshot-id'])
    expect(md['current-snapshot-id']).toBe(s2['snapshot-id'])
    expect(s2.summary['total-records']).toBe('500')
  })

  it('Parquet files carry every field id (map key/value too) and µs UTC timestamps (DuckDB parquet_schema)', async () => {
    const files = currentDataFiles(await writer.load('pa_events'))
    expect(files.length).toBeGreaterThanOrEqual(4) // 2 sites × 2 days, per append
    await expectParquetSchemas(defs.pa_events, files)
    await expectParquetSchemas(defs.pa_sessions, currentDataFiles(await writer.load('pa_sessions')))
  })

  it('DuckDB read_parquet over the live files returns every row exactly', async () => {
    const files = currentDataFiles(await writer.load('pa_events'))
    expect(files.reduce((n, f) => n + Number(f.record_count), 0)).toBe(500)
    await expectDuckDbRows('pa_events', files, events)
    await expectDuckDbRows('pa_sessions', currentDataFiles(await writer.load('pa_sessions')), sessions)
  })

  it('icebird full scans return every row exactly (map column, µs timestamps)', async () => {
    await expectIcebirdRows('pa_events', await writer.load('pa_events'), events)
    await expectIcebirdRows('pa_sessions', await writer.load('pa_sessions'), sessions)
    // The earlier snapshot's metadata still reads as the first append only.
    await expectIcebirdRows('pa_events', events1, events.slice(0, 300))
  })
})

describe('a failed upload', () => {
  /** The real local FileIO, except that the chosen write fails like a full disk would. */
  function failingIO(shouldFail: (uri: string) => boolean): FileIO {
    const fail = (uri: string) => {
      if (shouldFail(uri))
        throw Object.assign(new Error(`ENOSPC: no space left on device, write '${uri}'`), { code: 'ENOSPC' })
    }
    return {
      conditionalWrites: true,
      read: (u) => io.read(u),
      exists: (u) => io.exists(u),
      delete: (u) => io.delete(u),
      list: (p) => io.list(p),
      listWithTimes: (p) => io.listWithTimes(p),
      write: async (u, b) => (fail(u), io.write(u, b)),
      writeIfAbsent: async (u, b) => (fail(u), io.writeIfAbsent(u, b)),
      writeStream: async (u, c) => (fail(u), io.writeStream(u, c)),
    }
  }

  /** Fails the n-th matching write only (so earlier files of the same append were uploaded). */
  function nth(n: number, match: (uri: string) => boolean): (uri: string) => boolean {
    let seen = 0
    return (u) => match(u) && ++seen === n
  }

  it.each([
    ['the second data file', nth(2, (u: string) => u.endsWith('.parquet'))],
    ['the manifest', (u: string) => /-m\d+\.avro$/.test(u)],
    ['the manifest list', (u: string) => /\/snap-.*\.avro$/.test(u)],
    ['the metadata JSON', (u: string) => u.endsWith('.metadata.json')],
  ])('leaves no half-committed snapshot when %s cannot be written', async (_what, shouldFail) => {
    const before = await writer.load('pa_events')
    const filesBefore = await io.list(before.metadata.location + '/')
    const bad = failingIO(shouldFail)
    const badCatalog = new JdbcCatalog({ sql, io: bad, name: 'floe_e2e' })
    const badWriter = createTableWriter({ catalog: badCatalog, io: bad, namespace: ['analytics'], warehouse })
    await expect(badWriter.append('pa_events', sampleEvents(50, 9, 0))).rejects.toThrow(/ENOSPC/)
    const after = await writer.load('pa_events')
    expect(after.metadataLocation).toBe(before.metadataLocation)
    expect(after.metadata.snapshots.map((s) => s['snapshot-id'])).toEqual(
      before.metadata.snapshots.map((s) => s['snapshot-id']),
    )
    // Readers still see exactly the committed rows, and the failed append cleaned up its files.
    await expectDuckDbRows('pa_events', currentDataFiles(after), events)
    expect(await io.list(before.metadata.location + '/')).toEqual(filesBefore)
  })

  it('and the next append after it commits normally', async () => {
    const extra = sampleEvents(10, 5, 0)
    await writer.append('pa_events', extra)
    await expectIcebirdRows('pa_events', await writer.load('pa_events'), [...events, ...extra])
    events.push(...extra)
  })
})

describe.each(['sqlite', 'pglite'])('the embedded JDBC catalog in %s', (kind) => {
  it('appends and reads back through the same catalog code', async () => {
    const lite =
      kind === 'sqlite' ? SqliteSql.open(path.join(dir, 'embedded.sqlite')) : await PGliteSql.open()
    try {
      const wh = fileUri(path.join(dir, `embedded-${kind}`))
      const w = createTableWriter({
        catalog: new JdbcCatalog({ sql: lite, io, name: 'floe' }),
        io,
        namespace: ['analytics'],
        warehouse: wh,
      })
      const rows = sampleEvents(60, 3, 0)
      await w.append('pa_events', rows.slice(0, 30))
      await w.append('pa_events', rows.slice(30))
      const t = await w.load('pa_events')
      expect(t.metadata.snapshots).toHaveLength(2)
      await expectIcebirdRows('pa_events', t, rows)
      const row = await lite.query<{ metadata_location: string; iceberg_type: string }>(
        "SELECT metadata_location, iceberg_type FROM iceberg_tables WHERE table_name = 'pa_events'",
      )
      expect(row.rows).toEqual([{ metadata_location: t.metadataLocation, iceberg_type: 'TABLE' }])
    } finally {
      await lite.close()
    }
  })
})

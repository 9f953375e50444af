/**
 * A pa_events table made before Floe's definition gained `campaign_id`, `source` and `sample_rate`
 * (ids 40-42) is upgraded in place on start: one add-columns commit through the commit core, the
 * old rows read as null in the new columns, new rows carry them. Read back with icebird (full scan
 * through metadata and manifests) and DuckDB (Parquet files by name, old and new files together).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { JdbcCatalog } from '../../src/commit/jdbc.ts'
import { TableSchemaConflictError } from '../../src/errors.ts'
import { LocalFileIO, fileUri } from '../../src/storage/local.ts'
import { PgSql } from '../../src/storage/pg.ts'
import { createTableWriter } from '../../src/write/append.ts'
import { loadTableDefinitions } from '../../src/write/table-definition.ts'
import type { TableDefinition } from '../../src/table/metadata.ts'
import { currentSchema } from '../../src/table/metadata.ts'
import { createTestDatabase } from '../support/pg.ts'
import { eventRow, sampleEvents } from '../support/rows.ts'
import { liveDataFiles, sqlString, withDuckDb } from '../support/iceberg-check.ts'
import { installFetchShim, readWithIcebird } from '../e2e/readback.ts'

const NEW_COLUMNS = ['campaign_id', 'source', 'sample_rate']
const dir = mkdtempSync(path.join(tmpdir(), 'floe-schema-upgrade-'))
const io = new LocalFileIO()
let db: { url: string; drop: () => Promise<void> }
let sql: PgSql

/** Floe's definitions as they were before the three columns (last-column-id 39). */
function oldDefinitions(): ReturnType<typeof loadTableDefinitions> {
  const defs = loadTableDefinitions()
  const events: TableDefinition = structuredClone(defs.pa_events)
  events.schema.fields = events.schema.fields.filter((f) => !NEW_COLUMNS.includes(f.name))
  events['last-column-id'] = 39
  return { ...defs, pa_events: events }
}

beforeAll(async () => {
  installFetchShim()
  db = await createTestDatabase('v1_events_schema')
  sql = new PgSql(db.url)
})

afterAll(async () => {
  await sql?.close()
  await db?.drop()
  rmSync(dir, { recursive: true, force: true })
})

describe('pa_events upgraded in place to the /v1/events columns', () => {
  it('an old table gains the columns in one commit; old rows read null, new rows carry values', async () => {
    const catalog = new JdbcCatalog({ sql, io, name: 'floe_upgrade' })
    const warehouse = fileUri(path.join(dir, 'wh'))
    const old = createTableWriter({
      catalog,
      io,
      namespace: ['analytics'],
      warehouse,
      definitions: oldDefinitions(),
    })
    await old.ensureTables()
    const oldRows = sampleEvents(6).map((r) => {
      const { campaign_id: _c, source: _s, sample_rate: _r, ...rest } = r
      return rest
    })
    await old.append('pa_events', oldRows)
    const before = await old.load('pa_events')
    expect(before.metadata['last-column-id']).toBe(39)
    const snapshotsBefore = before.metadata.snapshots.length

    const writer = createTableWriter({ catalog, io, namespace: ['analytics'], warehouse })
    await writer.ensureTables()
    const after = await writer.load('pa_events')
    expect(after.metadata['last-column-id']).toBe(42)
    expect(after.metadata.schemas.map((s) => s['schema-id'])).toEqual([0, 1])
    expect(after.metadata['current-schema-id']).toBe(1)
    expect(currentSchema(after.metadata).fields.slice(-3)).toEqual(
      loadTableDefinitions().pa_events.schema.fields.slice(-3),
    )
    // Schema change only: no snapshot was added, the old one is still current.
    expect(after.metadata.snapshots.length).toBe(snapshotsBefore)
    expect(after.metadata['current-snapshot-id']).toBe(before.metadata['current-snapshot-id'])
    // A second start finds nothing to add: no further commit.
    await writer.ensureTables()
    expect((await writer.load('pa_events')).metadataLocation).toBe(after.metadataLocation)

    const fresh = [
      eventRow({ event_id: 'v1-a', campaign_id: 'spring', source: 'v1', sample_rate: 0.25 }),
      eventRow({ event_id: 'v1-b', campaign_id: null, source: 'v1', sample_rate: null }),
    ]
    await writer.append('pa_events', fresh)
    const loaded = await writer.load('pa_events')

    const scanned = await readWithIcebird(loaded.metadataLocation)
    expect(scanned).toHaveLength(8)
    const byId = new Map(scanned.map((r) => [r.event_id, r]))
    expect(byId.get('v1-a')).toMatchObject({ campaign_id: 'spring', source: 'v1', sample_rate: 0.25 })
    expect(byId.get('v1-b')).toMatchObject({ campaign_id: null, source: 'v1', sample_rate: null })
    for (const r of oldRows) {
      const got = byId.get(r.event_id)!
      for (const c of NEW_COLUMNS) expect(got[c] ?? null).toBeNull()
    }

    const snap = loaded.metadata.snapshots.find(
      (s) => s['snapshot-id'] === loaded.metadata['current-snapshot-id'],
    )!
    const files = liveDataFiles(snap['manifest-list']).map((f) =>
      sqlString(f.file_path.replace('file://', '')),
    )
    // Old files lack the columns: union_by_name reads them as null, as any Iceberg reader does by id.
    const duck = await withDuckDb((run) =>
      run(
        `SELECT source, count(*)::INT AS n, sum(sample_rate) AS rates
           FROM read_parquet([${files.join(', ')}], union_by_name = true)
          GROUP BY source ORDER BY source NULLS LAST`,
      ),
    )
    expect(duck).toEqual([
      { source: 'v1', n: 2, rates: 0.25 },
      { source: null, n: 6, rates: null },
    ])
  })

  it('refuses, naming the column, when another engine already used the field ids', async () => {
    const catalog = new JdbcCatalog({ sql, io, name: 'floe_upgrade_conflict' })
    const warehouse = fileUri(path.join(dir, 'wh2'))
    const defs = oldDefinitions()
    // Another engine added its own column, taking id 40.
    defs.pa_events.schema.fields.push({ id: 40, name: 'ab_variant', required: false, type: 'string' })
    defs.pa_events['last-column-id'] = 40
    await createTableWriter({
      catalog,
      io,
      namespace: ['analytics'],
      warehouse,
      definitions: defs,
    }).ensureTables()
    const writer = createTableWriter({ catalog, io, namespace: ['analytics'], warehouse })
    const err = await writer.ensureTables().catch((e: unknown) => e)
    expect(err).toBeInstanceOf(TableSchemaConflictError)
    expect(String(err)).toContain('campaign_id')
  })
})

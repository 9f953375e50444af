/**
 * Another engine evolves the table (Trino `ALTER TABLE`, Spark): Floe keeps appending when the
 * columns it writes keep their ids and types, and refuses, writing nothing, when one of them now
 * means something else. The schema change is made as another engine would: a new metadata file and
 * the JDBC catalog's compare-and-swap UPDATE, without Floe's writer.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { execFileSync } from 'node:child_process'
import { mkdtempSync, readdirSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { JdbcCatalog } from '../../src/commit/jdbc.ts'
import { TableSchemaConflictError } from '../../src/errors.ts'
import { LocalFileIO, fileUri } from '../../src/storage/local.ts'
import { PgSql } from '../../src/storage/pg.ts'
import { createTableWriter, type TableWriter } from '../../src/write/append.ts'
import type { IcebergField, TableMetadata } from '../../src/table/metadata.ts'
import { nextMetadataLocation, writeMetadataFile } from '../../src/table/metadata-file.ts'
import { createTestDatabase } from '../support/pg.ts'
import { sampleEvents } from '../support/rows.ts'

const dir = mkdtempSync(path.join(tmpdir(), 'floe-table-schema-'))
const io = new LocalFileIO()
let db: { url: string; drop: () => Promise<void> }
let sql: PgSql
let writer: TableWriter

beforeAll(async () => {
  db = await createTestDatabase()
  sql = new PgSql(db.url)
  const catalog = new JdbcCatalog({ sql, io, name: 'floe_schema' })
  writer = createTableWriter({
    catalog,
    io,
    namespace: ['analytics'],
    warehouse: fileUri(path.join(dir, 'wh')),
  })
  await writer.ensureTables()
  await writer.append('pa_events', sampleEvents(10))
})

afterAll(async () => {
  await sql?.close()
  await db?.drop()
  rmSync(dir, { recursive: true, force: true })
})

/** What another engine's schema change commits: a new schema made current, nothing else. */
async function evolve(change: (fields: IcebergField[], lastId: number) => IcebergField[]): Promise<void> {
  const loaded = await writer.load('pa_events')
  const m: TableMetadata = structuredClone(loaded.metadata)
  const current = m.schemas.find((s) => s['schema-id'] === m['current-schema-id'])!
  const schemaId = Math.max(...m.schemas.map((s) => s['schema-id'])) + 1
  const fields = change(structuredClone(current.fields), m['last-column-id'])
  m.schemas.push({ type: 'struct', 'schema-id': schemaId, fields })
  m['current-schema-id'] = schemaId
  m['last-column-id'] = Math.max(m['last-column-id'], ...fields.map((f) => f.id))
  const location = nextMetadataLocation(m, loaded.metadataLocation)
  await writeMetadataFile(io, m, location)
  const swapped = await sql.query(
    `UPDATE iceberg_tables SET metadata_location = $1, previous_metadata_location = $2
      WHERE catalog_name = 'floe_schema' AND table_name = 'pa_events' AND metadata_location = $2`,
    [location, loaded.metadataLocation],
  )
  expect(swapped.rowCount).toBe(1)
}

const dataFiles = () =>
  readdirSync(path.join(dir, 'wh', 'analytics', 'pa_events', 'data'), { recursive: true }).filter((f) =>
    String(f).endsWith('.parquet'),
  )

/** The `schema` header of the newest snapshot's own manifest, read by python3-avro. */
function newestManifestSchema(metadata: TableMetadata): { 'schema-id': number; fields: { name: string }[] } {
  const snap = metadata.snapshots.find((s) => s['snapshot-id'] === metadata['current-snapshot-id'])!
  const py = `
import json, sys
from avro.datafile import DataFileReader
from avro.io import DatumReader
lst = DataFileReader(open(sys.argv[1], 'rb'), DatumReader())
mine = [m for m in lst if m['added_snapshot_id'] == int(sys.argv[2])][0]
r = DataFileReader(open(mine['manifest_path'].replace('file://', ''), 'rb'), DatumReader())
print(r.meta['schema'].decode())
`
  const out = execFileSync(
    '/usr/bin/python3',
    ['-c', py, snap['manifest-list'].replace('file://', ''), String(snap['snapshot-id'])],
    {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'ignore'],
    },
  )
  return JSON.parse(out)
}

describe('appending to a table another engine evolved', () => {
  it('a column added by another engine: appends go on, manifests carry the table schema', async () => {
    await evolve((fields, lastId) => [
      ...fields,
      { id: lastId + 1, name: 'ab_variant', required: false, type: 'string' },
    ])
    const result = await writer.append('pa_events', sampleEvents(5, 1))
    expect(result.records).toBe(5)
    const loaded = await writer.load('pa_events')
    const header = newestManifestSchema(loaded.metadata)
    expect(header['schema-id']).toBe(loaded.metadata['current-schema-id'])
    expect(header.fields.map((f) => f.name)).toContain('ab_variant')
  })

  it('a column widened by an allowed promotion (int → long): appends go on', async () => {
    await evolve((fields) =>
      fields.map((f) => (f.name === 'event_type' ? { ...f, type: 'long' as const } : f)),
    )
    expect((await writer.append('pa_events', sampleEvents(3, 3))).records).toBe(3)
  })

  it('a column Floe writes, dropped and re-added under a new id: refused, nothing written', async () => {
    await evolve((fields, lastId) => [
      ...fields.filter((f) => f.name !== 'gclid'),
      { id: lastId + 1, name: 'gclid', required: false, type: 'string' },
    ])
    const before = dataFiles().length
    const err = await writer.append('pa_events', sampleEvents(5, 2)).catch((e: unknown) => e)
    expect(err).toBeInstanceOf(TableSchemaConflictError)
    expect((err as TableSchemaConflictError).column).toBe('gclid')
    expect((err as Error).message).toMatch(/pa_events\.gclid: table has id \d+/)
    expect(dataFiles().length).toBe(before)
  })
})

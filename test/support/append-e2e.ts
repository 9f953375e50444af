/**
 * Checks shared by the end-to-end append tests (local folder and S3): what Floe committed through
 * the JDBC catalog is read back by independent readers, row for row.
 */
import { expect } from 'vitest'
import type { LoadedTable } from '../../src/table/catalog.ts'
import type { IcebergField, TableDefinition } from '../../src/table/metadata.ts'
import type { TableName } from '../../src/rows.ts'
import {
  duckDbRows,
  icebirdScan,
  liveDataFiles,
  localPathResolver,
  parquetSchema,
  type LiveDataFile,
} from './iceberg-check.ts'

export interface S3Paths {
  dir: string
  endpoint: string
}

const TIMESTAMPS: Record<TableName, string[]> = {
  pa_events: ['event_time', 'received_at'],
  pa_sessions: ['created_at', 'updated_at'],
  pa_rejected: ['received_at'],
}
const MAPS: Record<TableName, string[]> = {
  pa_events: ['event_data'],
  pa_sessions: ['session_data'],
  pa_rejected: ['headers'],
}
const KEY: Record<TableName, string> = {
  pa_events: 'event_id',
  pa_sessions: 'session_id',
  pa_rejected: 'rejected_id',
}

export function sortRows<T extends Record<string, unknown>>(table: TableName, rows: T[]): T[] {
  const k = KEY[table]
  return [...rows].sort((a, b) => (String(a[k]) < String(b[k]) ? -1 : String(a[k]) > String(b[k]) ? 1 : 0))
}

/** Live data files of the table's current snapshot, decoded by python3-avro. */
export function currentDataFiles(table: LoadedTable, s3?: S3Paths): LiveDataFile[] {
  const md = table.metadata
  const snap = md.snapshots.find((s) => s['snapshot-id'] === md['current-snapshot-id'])
  if (!snap) return []
  return liveDataFiles(snap['manifest-list'], s3?.dir)
}

/** What DuckDB's parquet_schema must show for one Iceberg field (and its map key/value). */
function expectedColumns(
  f: IcebergField,
): { name: string; field_id: number; type: string | null; logical: RegExp | null; rep: string }[] {
  const rep = f.required ? 'REQUIRED' : 'OPTIONAL'
  if (typeof f.type === 'object') {
    return [
      { name: f.name, field_id: f.id, type: null, logical: /^MapType/, rep },
      {
        name: 'key',
        field_id: f.type['key-id'],
        type: 'BYTE_ARRAY',
        logical: /^StringType/,
        rep: 'REQUIRED',
      },
      {
        name: 'value',
        field_id: f.type['value-id'],
        type: 'BYTE_ARRAY',
        logical: /^StringType/,
        rep: f.type['value-required'] ? 'REQUIRED' : 'OPTIONAL',
      },
    ]
  }
  switch (f.type) {
    case 'string':
      return [{ name: f.name, field_id: f.id, type: 'BYTE_ARRAY', logical: /^StringType/, rep }]
    case 'int':
      return [{ name: f.name, field_id: f.id, type: 'INT32', logical: null, rep }]
    case 'long':
      return [{ name: f.name, field_id: f.id, type: 'INT64', logical: null, rep }]
    case 'double':
      return [{ name: f.name, field_id: f.id, type: 'DOUBLE', logical: null, rep }]
    case 'timestamptz':
      return [
        {
          name: f.name,
          field_id: f.id,
          type: 'INT64',
          logical: /^TimestampType\(isAdjustedToUTC=1, .*MICROS=MicroSeconds\(\)/,
          rep,
        },
      ]
    default:
      throw new Error(`add an expectation for ${f.type}`)
  }
}

/** Every column of every live file carries the schema's field id, physical and logical type. */
export async function expectParquetSchemas(
  def: TableDefinition,
  files: LiveDataFile[],
  s3?: S3Paths,
): Promise<void> {
  const local = localPathResolver(s3)
  const expected = def.schema.fields.flatMap(expectedColumns)
  for (const file of files) {
    const cols = (await parquetSchema(local(file.file_path))).filter(
      (c) => c.name !== 'key_value' && c.field_id !== null,
    )
    expect(cols.map((c) => c.name)).toEqual(expected.map((e) => e.name))
    cols.forEach((c, i) => {
      const e = expected[i]
      expect({ name: c.name, field_id: c.field_id, type: c.type, rep: c.repetition_type }).toEqual({
        name: e.name,
        field_id: e.field_id,
        type: e.type,
        rep: e.rep,
      })
      if (e.logical) expect(c.logical_type).toMatch(e.logical)
      else expect(c.logical_type).toBeNull()
    })
  }
}

/** DuckDB `read_parquet` over the live files returns exactly `expected`. */
export async function expectDuckDbRows(
  table: TableName,
  files: LiveDataFile[],
  expected: Record<string, unknown>[],
  s3?: S3Paths,
): Promise<void> {
  const local = localPathResolver(s3)
  const rows = await duckDbRows(
    files.map((f) => local(f.file_path)),
    { timestamps: TIMESTAMPS[table], maps: MAPS[table], orderBy: KEY[table] },
  )
  expect(rows.length).toBe(expected.length)
  expect(rows).toEqual(sortRows(table, expected))
}

/** icebird's full scan of the current snapshot returns exactly `expected` (µs timestamps, maps). */
export async function expectIcebirdRows(
  table: TableName,
  loaded: LoadedTable,
  expected: Record<string, unknown>[],
  s3?: S3Paths,
): Promise<void> {
  const scanned = await icebirdScan(loaded.metadataLocation, s3)
  const normalised = scanned.map((r) => {
    const o: Record<string, unknown> = { ...r }
    for (const c of TIMESTAMPS[table]) o[c] = Number(r[c] as bigint)
    // hyparquet reports a null map as undefined (an empty map stays {}).
    for (const c of MAPS[table]) if (o[c] === undefined) o[c] = null
    return o
  })
  expect(normalised.length).toBe(expected.length)
  expect(sortRows(table, normalised)).toEqual(sortRows(table, expected))
}

/**
 * Rows → JSON text for the write-ahead log, through serializers compiled from the tables' columns
 * (fast-json-stringify, Fastify's own serializer).
 *
 * Why: the record's JSON is the receiving thread's largest per-event cost after enrichment. On
 * 1000 enriched `pa_events` rows `JSON.stringify` took 5.5-13 µs per row on the development
 * machine and the compiled serializer 2.4-3.5 µs (same process, alternating; docs/throughput.md).
 *
 * Exactness: each column is typed as what Floe writes in it (`string | null`, `number | null`,
 * `boolean | null`, a string→string map or null). A value of any other type (or NaN / ±Infinity)
 * makes the compiled serializer throw, and then the whole array is written by `JSON.stringify`, so
 * the text always parses back to the same rows. Keys a table does not define are written as
 * `JSON.stringify` would (`additionalProperties`); `undefined` values are left out as it leaves them.
 * The one difference is the key order (the schema's), which JSON readers ignore.
 */
import { createRequire } from 'node:module'
import type { Row, TableName } from '../rows.ts'
import { TABLE_NAMES } from '../rows.ts'
import type { IcebergType } from '../table/metadata.ts'
import { loadTableDefinitions } from '../write/table-definition.ts'

// The package is CommonJS with `export =` typings; its build function is all that is used.
const require = createRequire(import.meta.url)
const build = require('fast-json-stringify') as (schema: object) => (value: unknown) => string

function columnSchema(type: IcebergType): object {
  if (typeof type === 'object')
    return type.key === 'string' && type.value === 'string'
      ? { anyOf: [{ type: 'null' }, { type: 'object', additionalProperties: { type: 'string' } }] }
      : {} // any other map: as JSON.stringify writes it
  switch (type) {
    case 'string':
    case 'uuid':
      return { type: ['string', 'null'] }
    case 'boolean':
      return { type: ['boolean', 'null'] }
    case 'int':
    case 'long':
    case 'float':
    case 'double':
    case 'date':
    case 'timestamp':
    case 'timestamptz':
      return { type: ['number', 'null'] }
    default:
      return {}
  }
}

type Serialize = (rows: readonly Row[]) => string

let serializers: Record<TableName, Serialize> | undefined

function compile(): Record<TableName, Serialize> {
  const defs = loadTableDefinitions()
  const out = {} as Record<TableName, Serialize>
  for (const t of TABLE_NAMES) {
    const properties = Object.fromEntries(defs[t].schema.fields.map((f) => [f.name, columnSchema(f.type)]))
    out[t] = build({ type: 'array', items: { type: 'object', additionalProperties: true, properties } })
  }
  return out
}

/** `rows` of `table` as a JSON array (what `JSON.stringify(rows)` means, faster). */
export function rowsJson(table: TableName, rows: readonly Row[]): string {
  serializers ??= compile()
  try {
    return serializers[table](rows)
  } catch {
    // A value outside its column's type: the general serializer writes it as it is.
    return JSON.stringify(rows)
  }
}

/**
 * Row validation against an Iceberg schema, run before any byte is written (so a bad batch leaves
 * no file behind). The first offending value throws SchemaMismatchError naming table and column.
 *
 * Accepted JS representations (see src/rows.ts): string/uuid → string; int/date → integer number in
 * int32 range; long → safe-integer number or bigint; timestamp(tz) → integer number of microseconds
 * (or bigint); float/double → number; boolean → boolean; binary → Uint8Array;
 * map<string,string> → plain object of strings (values may be null unless value-required).
 * Optional columns may be null or absent; a key that is not a column is rejected (a typo would
 * otherwise silently drop data).
 */
import { SchemaMismatchError, TableSchemaConflictError } from '../errors.ts'
import type { Row } from '../rows.ts'
import { columnReader } from './column-reader.ts'
import type { IcebergField, IcebergSchema, IcebergType } from '../table/metadata.ts'

const INT32_MIN = -(2 ** 31)
const INT32_MAX = 2 ** 31 - 1

/** Why `v` is not a valid value of `type`, or undefined when it is. `v` is never null here. */
function typeProblem(type: IcebergType, v: unknown): string | undefined {
  if (typeof type === 'object') {
    if (typeof v !== 'object' || Array.isArray(v) || v instanceof Uint8Array) return 'expected a map object'
    for (const [k, x] of Object.entries(v as Record<string, unknown>)) {
      if (x === null || x === undefined) {
        if (type['value-required']) return `map value for key "${k}" is required`
        continue
      }
      const p = typeProblem(type.value, x)
      if (p) return `map value for key "${k}": ${p}`
    }
    return undefined
  }
  switch (type) {
    case 'string':
    case 'uuid':
      return typeof v === 'string' ? undefined : `expected string, got ${describe(v)}`
    case 'int':
    case 'date':
      return Number.isInteger(v) && (v as number) >= INT32_MIN && (v as number) <= INT32_MAX
        ? undefined
        : `expected 32-bit integer, got ${describe(v)}`
    case 'long':
    case 'timestamp':
    case 'timestamptz':
      if (typeof v === 'bigint') return undefined
      return Number.isSafeInteger(v)
        ? undefined
        : `expected integer (microseconds for timestamps), got ${describe(v)}`
    case 'float':
    case 'double':
      return typeof v === 'number' ? undefined : `expected number, got ${describe(v)}`
    case 'boolean':
      return typeof v === 'boolean' ? undefined : `expected boolean, got ${describe(v)}`
    case 'binary':
      return v instanceof Uint8Array ? undefined : `expected bytes, got ${describe(v)}`
  }
}

function describe(v: unknown): string {
  if (typeof v === 'string') return `string ${JSON.stringify(v.length > 40 ? v.slice(0, 40) + '…' : v)}`
  if (typeof v === 'number') return `number ${v}`
  if (Array.isArray(v)) return 'array'
  return typeof v
}

/**
 * Whether every value of column `f` in `rows` fits (column-wise, one tight loop per type: the
 * per-value `typeProblem` call costs several times more on a 200k-row batch). `present` counts the
 * defined values per row for the unknown-key check.
 */
function columnFits(f: IcebergField, rows: readonly Row[], present: Uint16Array, values: unknown[]): boolean {
  const type = f.type
  const n = rows.length
  columnReader(f.name)(rows, values)
  for (let r = 0; r < n; r++) {
    const v = values[r]
    if (v === undefined) {
      if (f.required) return false
      continue
    }
    present[r]++
    if (v === null) {
      if (f.required) return false
      continue
    }
    switch (type) {
      case 'string':
      case 'uuid':
        if (typeof v !== 'string') return false
        break
      case 'long':
      case 'timestamp':
      case 'timestamptz':
        if (typeof v !== 'bigint' && !Number.isSafeInteger(v)) return false
        break
      default:
        if (typeProblem(type, v) !== undefined) return false
    }
  }
  return true
}

/** Throws SchemaMismatchError naming the first row (and its column) that does not fit `schema`. */
export function validateRows(table: string, schema: IcebergSchema, rows: readonly Row[]): void {
  if (rowsFit(schema, rows)) return
  // Only the exact check throws; rowsFit is stricter only about keys set to undefined (those pass).
  firstMismatch(table, schema, rows)
}

/**
 * The table's current schema, after checking that every column of Floe's definition is in it with
 * the same field id and the same type or one Iceberg promotes it to (int → long, float → double;
 * nested ids included). Columns other engines added are fine: Floe's
 * data files simply do not have them, which readers take as null. Anything else would make Floe
 * write values under ids the table no longer means, so it throws TableSchemaConflictError.
 */
export function checkTableSchema(
  table: string,
  definition: IcebergSchema,
  current: IcebergSchema,
): IcebergSchema {
  const byName = new Map(current.fields.map((f) => [f.name, f]))
  for (const want of definition.fields) {
    const have = byName.get(want.name)
    if (!have)
      throw new TableSchemaConflictError(table, want.name, `column is not in the table's current schema`)
    if (have.id !== want.id || !fits(have.type, want.type))
      throw new TableSchemaConflictError(
        table,
        want.name,
        `table has id ${have.id} type ${JSON.stringify(have.type)}, Floe writes id ${want.id} type ${JSON.stringify(want.type)}`,
      )
    if (have.required && !want.required)
      throw new TableSchemaConflictError(table, want.name, 'the table requires it, Floe may leave it null')
  }
  return current
}

/** Iceberg's allowed type promotions: data written as `from` reads correctly as `to`. */
const PROMOTIONS: Record<string, string> = { int: 'long', float: 'double' }

/** Whether values Floe writes as `written` fit the table's type (same, or a promotion). */
function fits(table: IcebergType, written: IcebergType): boolean {
  if (typeof table === 'string' && typeof written === 'string')
    return table === written || PROMOTIONS[written] === table
  if (typeof table !== 'object' || typeof written !== 'object') return false
  return (
    table['key-id'] === written['key-id'] &&
    table['value-id'] === written['value-id'] &&
    Boolean(table['value-required']) === Boolean(written['value-required']) &&
    fits(table.key, written.key) &&
    fits(table.value, written.value)
  )
}

/**
 * Every row that does not fit `schema`, with its error (index = position in `rows`). The slow path,
 * for the rare batch that failed `validateRows`: the flusher sets such rows aside instead of letting
 * one bad row block its table.
 */
export function invalidRows(
  table: string,
  schema: IcebergSchema,
  rows: readonly Row[],
): Array<{ index: number; error: SchemaMismatchError }> {
  const out: Array<{ index: number; error: SchemaMismatchError }> = []
  for (let i = 0; i < rows.length; i++) {
    try {
      firstMismatch(table, schema, [rows[i]])
    } catch (error) {
      if (!(error instanceof SchemaMismatchError)) throw error
      out.push({ index: i, error })
    }
  }
  return out
}

/**
 * The fast path: every column fits, and every row has no keys beyond its defined columns (the
 * count of own enumerable keys equals the count of defined column values).
 */
function rowsFit(schema: IcebergSchema, rows: readonly Row[]): boolean {
  const present = new Uint16Array(rows.length)
  for (let r = 0; r < rows.length; r++) if (typeof rows[r] !== 'object' || rows[r] === null) return false
  const values = new Array<unknown>(rows.length)
  for (const f of schema.fields) if (!columnFits(f, rows, present, values)) return false
  for (let r = 0; r < rows.length; r++) {
    let keys = 0
    for (const _ in rows[r]) keys++
    if (keys !== present[r]) return false
  }
  return true
}

/** The slow, exact path: the first offending value in row order. */
function firstMismatch(table: string, schema: IcebergSchema, rows: readonly Row[]): void {
  const fields: IcebergField[] = schema.fields
  const names = new Set(fields.map((f) => f.name))
  for (let r = 0; r < rows.length; r++) {
    const row = rows[r]
    if (typeof row !== 'object' || row === null) {
      throw new SchemaMismatchError(table, '(row)', `row ${r} is not an object`)
    }
    for (const f of fields) {
      const v = row[f.name]
      if (v === null || v === undefined) {
        if (f.required) throw new SchemaMismatchError(table, f.name, `row ${r}: missing required column`)
        continue
      }
      const p = typeProblem(f.type, v)
      if (p) throw new SchemaMismatchError(table, f.name, `row ${r}: ${p}`)
    }
    for (const k in row) {
      if (!names.has(k)) throw new SchemaMismatchError(table, k, `row ${r}: not a column of ${table}`)
    }
  }
}

/**
 * Column-wise reads of row objects for validation and Parquet encoding.
 *
 * Why generated code: `row[name]` with `name` in a variable is one property-load site for every
 * column, which V8 turns megamorphic (a stub-cache lookup per value); on a 200k-row, 37-column
 * batch that was the largest JS cost of validate + encode after per-value UTF-8 calls. A tiny
 * function per column whose load has a constant key keeps every site monomorphic. Column names
 * come from the table definition and are embedded as JSON string literals, never as code.
 */
import type { Row } from '../rows.ts'

/** Copies `rows[i][column]` into `out[i]` for every row (`undefined` when the key is absent). */
export type ColumnReader = (rows: readonly Row[], out: unknown[]) => void

const readers = new Map<string, ColumnReader>()

export function columnReader(column: string): ColumnReader {
  let read = readers.get(column)
  if (read === undefined) {
    const key = JSON.stringify(column)
    read = new Function(
      'rows',
      'out',
      `const n = rows.length\nfor (let i = 0; i < n; i++) out[i] = rows[i][${key}]`,
    ) as ColumnReader
    readers.set(column, read)
  }
  return read
}

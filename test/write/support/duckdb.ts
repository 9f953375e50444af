/** DuckDB (independent Parquet reader) for tests: one in-memory instance per call site. */
import { DuckDBInstance } from '@duckdb/node-api'

export async function duckdbQuery(sql: string): Promise<Record<string, unknown>[]> {
  const db = await DuckDBInstance.create(':memory:')
  const conn = await db.connect()
  try {
    const reader = await conn.runAndReadAll(sql)
    return reader.getRowObjectsJS() as Record<string, unknown>[]
  } finally {
    conn.closeSync()
  }
}

/** The DuckDB version of dev/sessions-view.sql, for tests that run it. */
import { readFileSync } from 'node:fs'

/** The DuckDB view's query, reading from `table`. */
export function duckdbSessionsQuery(table: string): string {
  const sql = readFileSync('dev/sessions-view.sql', 'utf8')
  const section = sql.slice(sql.indexOf('-- ─── DuckDB'))
  const query = /AS\s+(WITH[\s\S]*?WHERE r\.rn = 1);/.exec(section)![1]
  return query.replace(/\bpa_sessions\b(?!_)/g, table)
}

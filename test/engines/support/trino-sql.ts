/**
 * The shipped Trino SQL (dev/queries/*.sql and the Trino section of dev/sessions-view.sql) made
 * runnable over the HTTP protocol: one statement, no comments, no trailing semicolon, and the
 * catalog name swapped when the test points it at another catalog.
 */
import { readdirSync, readFileSync } from 'node:fs'
import path from 'node:path'

const stripComments = (sql: string) =>
  sql
    .split('\n')
    .filter((l) => !l.trimStart().startsWith('--'))
    .join('\n')
    .trim()
    .replace(/;\s*$/, '')

/** `iceberg.` (the catalog name the shipped SQL uses) → `catalog.`. */
export const inCatalog = (sql: string, catalog: string) =>
  sql.replace(/\biceberg\.analytics\./g, `${catalog}.analytics.`)

/** Every dev/queries/*.sql by file name (without .sql). */
export function devQueries(): Record<string, string> {
  const dir = 'dev/queries'
  return Object.fromEntries(
    readdirSync(dir)
      .filter((f) => f.endsWith('.sql'))
      .map((f) => [path.basename(f, '.sql'), stripComments(readFileSync(path.join(dir, f), 'utf8'))]),
  )
}

/** The Trino `CREATE OR REPLACE VIEW … pa_sessions_latest AS …` statement of dev/sessions-view.sql. */
export function trinoSessionsView(): string {
  const sql = readFileSync('dev/sessions-view.sql', 'utf8')
  const start = sql.indexOf('-- ─── Trino')
  const end = sql.indexOf('-- ─── Spark')
  return stripComments(sql.slice(start, end))
}

/** The view's query alone (what follows `AS`), to inline where a catalog cannot store views. */
export function trinoSessionsQuery(): string {
  return /\bAS\s+(WITH[\s\S]*)$/.exec(trinoSessionsView())![1]
}

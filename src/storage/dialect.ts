/**
 * The few statements that cannot be written once for both SQL engines Floe keeps its own state in:
 * Postgres (node-postgres or PGlite) and the embedded SQLite file. Everything else every store
 * issues is text both accept (`$n` parameters, `ON CONFLICT`, `RETURNING`, `now()`), so there is
 * one copy of each store, not one per engine; a store asks `sql.dialect` only for what differs here.
 *
 * In SQLite, arrays are bound as JSON text (sqlite.ts) and timestamps are ISO-8601 UTC text with
 * milliseconds (`now()` is registered to answer that), so comparing them as text compares times.
 */
export interface SqlDialect {
  readonly name: 'postgres' | 'sqlite'
  /** One of Floe's DDL statements (written for Postgres) as this engine accepts it. */
  ddl(statement: string): string
  /**
   * Taken first in every DDL transaction so replicas starting together do not collide; undefined
   * where a single process owns the database (SQLite: the file is locked exclusively).
   */
  readonly ddlLock: string | undefined
  /** A query answering one row when `table` has `column` (both fixed identifiers, not input). */
  columnExists(table: string, column: string): string
  /** A timestamp `param` milliseconds after the database's `now()`; `param` is a `$n` number. */
  nowPlusMs(param: string): string
  /** A FROM item `k(s, e)`: the pairs of two equal-length text-array parameters. */
  textPairs(a: string, b: string): string
  /** `expr` is one of the numbers of an array parameter. */
  inNumbers(expr: string, param: string): string
  /** `expr` is one of the strings of a text-array parameter. */
  inTexts(expr: string, param: string): string
  /** A statement `($1 = channel, $2 = payload)` telling other processes of a change; undefined: none. */
  readonly notify: string | undefined
}

export const postgresDialect: SqlDialect = {
  name: 'postgres',
  ddl: (statement) => statement,
  ddlLock: 'SELECT pg_advisory_xact_lock($1)',
  columnExists: (table, column) =>
    `SELECT 1 FROM information_schema.columns WHERE table_schema = current_schema() AND table_name = '${table}' AND column_name = '${column}'`,
  nowPlusMs: (param) => `now() + ${param} * interval '1 millisecond'`,
  textPairs: (a, b) => `unnest(${a}::text[], ${b}::text[]) AS k(s, e)`,
  inNumbers: (expr, param) => `${expr} = ANY(${param}::bigint[])`,
  inTexts: (expr, param) => `${expr} = ANY(${param}::text[])`,
  notify: 'SELECT pg_notify($1, $2)',
}

/** ISO-8601 UTC with milliseconds, as JavaScript's `toISOString` and the registered `now()`. */
const ISO_NOW = `'%Y-%m-%dT%H:%M:%fZ', 'now'`

export const sqliteDialect: SqlDialect = {
  name: 'sqlite',
  ddl: (statement) =>
    statement
      // SQLite has no IF NOT EXISTS for columns; callers check `columnExists` first.
      .replace(/ADD COLUMN IF NOT EXISTS/gi, 'ADD COLUMN')
      // A function call as a default must be parenthesised in SQLite (Postgres accepts both).
      .replace(/DEFAULT now\(\)/gi, 'DEFAULT (now())')
      // Arrays are JSON text here: the empty array literal too.
      .replace(/(\[\][^,]*DEFAULT )'\{\}'/g, "$1'[]'"),
  ddlLock: undefined,
  columnExists: (table, column) => `SELECT 1 FROM pragma_table_info('${table}') WHERE name = '${column}'`,
  nowPlusMs: (param) => `strftime(${ISO_NOW}, ((${param}) / 1000.0) || ' seconds')`,
  textPairs: (a, b) =>
    `(SELECT a.value AS s, b.value AS e FROM json_each(${a}) AS a JOIN json_each(${b}) AS b ON b.key = a.key) AS k`,
  inNumbers: (expr, param) => `${expr} IN (SELECT value FROM json_each(${param}))`,
  inTexts: (expr, param) => `${expr} IN (SELECT value FROM json_each(${param}))`,
  // One process owns the file: there is no one to tell.
  notify: undefined,
}

/**
 * SqlClient over SQLite, through Node's built-in `node:sqlite` (no native build, no WASM heap): the
 * embedded default when no `DATABASE_URL` is set. One file, `<FLOE_DATA_DIR>/floe.sqlite`, holds
 * the JDBC catalog (Iceberg Java's `JdbcCatalog` layout, so Java with the SQLite JDBC driver opens
 * it as it is) and Floe's own tables.
 *
 * - WAL journal with `synchronous=FULL`: a commit is on disk when the statement returns, and a
 *   SIGKILL at any point leaves the last committed state (the WAL is replayed on the next open).
 * - The file is locked exclusively (`locking_mode=EXCLUSIVE`, taken at open): a second process on
 *   the same data folder fails at start with a clear message instead of sharing it. That is why
 *   DDL needs no cross-process lock and changes need no NOTIFY here (sqliteDialect).
 * - Statements are the ones written for Postgres: `$n` becomes SQLite's numbered `?n`; arrays are
 *   bound as JSON text and read back as arrays (columns declared `<type>[]`), booleans as 0/1 and
 *   read back as booleans (columns declared `boolean`), Dates as ISO-8601 text. `now()` is
 *   registered and answers ISO-8601 UTC with milliseconds, the one format times have in this file.
 * - Queries run synchronously on the caller's turn (they touch a few KB); `transaction` holds the
 *   connection, and other queries wait for it to end, as with PGlite.
 * - Errors carry a Postgres SQLSTATE where one means the same (unique violation 23505, ...), so
 *   the catalog and stores judge them as they do Postgres's; I/O errors keep their own code, which
 *   counts as "unreachable / outcome unknown".
 */
import { mkdirSync } from 'node:fs'
import path from 'node:path'
import { DatabaseSync, type SQLInputValue, type StatementSync } from 'node:sqlite'
import { sqliteDialect } from './dialect.ts'
import type { SqlClient, SqlResult } from './sql.ts'

/** How long a statement waits for a lock held by another connection before failing. */
const BUSY_TIMEOUT_MS = 5000
/** Distinct statement texts kept prepared (Floe issues a few dozen). */
const MAX_PREPARED = 256

interface Prepared {
  stmt: StatementSync
  returnsRows: boolean
  /** Column names whose values are read back as arrays / booleans. */
  arrays: string[]
  booleans: string[]
}

/** `$n` → `?n`, outside string literals. */
function toSqliteParams(text: string): string {
  return text.replace(/'(?:[^']|'')*'|\$(\d+)/g, (m, n: string | undefined) => (n ? `?${n}` : m))
}

function bindValue(v: unknown): SQLInputValue {
  if (v === undefined || v === null) return null
  if (typeof v === 'boolean') return v ? 1 : 0
  if (v instanceof Date) return v.toISOString()
  if (Array.isArray(v)) return JSON.stringify(v)
  if (typeof v === 'object' && !ArrayBuffer.isView(v)) return JSON.stringify(v)
  return v as SQLInputValue
}

/** SQLite primary result codes → the SQLSTATE Postgres gives for the same failure. */
function sqlState(errcode: number): string | undefined {
  switch (errcode) {
    case 1555: // SQLITE_CONSTRAINT_PRIMARYKEY
    case 2067: // SQLITE_CONSTRAINT_UNIQUE
      return '23505'
    case 1299: // SQLITE_CONSTRAINT_NOTNULL
      return '23502'
    case 787: // SQLITE_CONSTRAINT_FOREIGNKEY
      return '23503'
    case 275: // SQLITE_CONSTRAINT_CHECK
      return '23514'
  }
  switch (errcode & 0xff) {
    case 19: // other constraints
      return '23000'
    case 1: // SQLITE_ERROR: the statement is wrong (syntax, missing table, a function's error)
      return '42000'
    case 5: // SQLITE_BUSY
    case 6: // SQLITE_LOCKED
      return '55P03'
    case 13: // SQLITE_FULL
      return '53100'
  }
  return undefined // I/O and corruption: outcome unknown, like a broken connection
}

function sqlError(err: unknown, text: string): Error {
  const e = err as Error & { errcode?: number; code?: string }
  if (typeof e?.errcode !== 'number') return e
  const state = sqlState(e.errcode)
  const out = new Error(`${e.message} (SQLite ${e.errcode}) in: ${text.replace(/\s+/g, ' ').slice(0, 200)}`, {
    cause: err,
  }) as Error & { code?: string; errcode?: number }
  out.code = state ?? e.code
  out.errcode = e.errcode
  return out
}

export class SqliteSql implements SqlClient {
  readonly dialect = sqliteDialect
  readonly file: string
  readonly #db: DatabaseSync
  readonly #prepared = new Map<string, Prepared>()
  /** Settles when the running transaction ends; undefined when none runs. */
  #tx: Promise<void> | undefined

  private constructor(db: DatabaseSync, file: string) {
    this.#db = db
    this.file = file
  }

  /** Opens (creating) the database file; `':memory:'` for tests. */
  static open(file: string): SqliteSql {
    if (file !== ':memory:') mkdirSync(path.dirname(file), { recursive: true })
    const db = new DatabaseSync(file, { timeout: BUSY_TIMEOUT_MS })
    try {
      db.exec('PRAGMA locking_mode = EXCLUSIVE')
      db.exec('PRAGMA journal_mode = WAL')
      db.exec('PRAGMA synchronous = FULL')
      // Take the exclusive lock now (the first write takes it and keeps it), so a second process
      // fails here, at its start, not at its first commit.
      db.exec('BEGIN IMMEDIATE; COMMIT')
    } catch (err) {
      db.close()
      const e = err as { errcode?: number }
      if (typeof e.errcode === 'number' && (e.errcode & 0xff) === 5)
        throw new Error(
          `the embedded database ${file} is in use by another process (is another Floe running on this FLOE_DATA_DIR?)`,
          { cause: err },
        )
      throw err
    }
    db.function('now', { deterministic: false }, () => new Date().toISOString())
    return new SqliteSql(db, file)
  }

  async query<R = Record<string, unknown>>(text: string, params?: unknown[]): Promise<SqlResult<R>> {
    while (this.#tx) await this.#tx
    return this.#run<R>(text, params)
  }

  async transaction<T>(fn: (tx: Pick<SqlClient, 'query'>) => Promise<T>): Promise<T> {
    while (this.#tx) await this.#tx
    let end!: () => void
    this.#tx = new Promise<void>((resolve) => (end = resolve))
    try {
      this.#db.exec('BEGIN IMMEDIATE')
      try {
        const out = await fn({
          query: async <R>(text: string, params?: unknown[]) => this.#run<R>(text, params),
        })
        this.#db.exec('COMMIT')
        return out
      } catch (err) {
        if (this.#db.isTransaction) this.#db.exec('ROLLBACK')
        throw err
      }
    } finally {
      this.#tx = undefined
      end()
    }
  }

  #prepare(text: string): Prepared {
    let p = this.#prepared.get(text)
    if (p) return p
    const stmt = this.#db.prepare(toSqliteParams(text))
    const columns = stmt.columns()
    const typed = (test: (type: string) => boolean) =>
      columns.filter((c) => c.type !== null && test(c.type.toLowerCase())).map((c) => c.name)
    p = {
      stmt,
      returnsRows: columns.length > 0,
      arrays: typed((t) => t.endsWith('[]')),
      booleans: typed((t) => t === 'boolean' || t === 'bool'),
    }
    if (this.#prepared.size >= MAX_PREPARED) this.#prepared.clear()
    this.#prepared.set(text, p)
    return p
  }

  #run<R>(text: string, params: unknown[] = []): SqlResult<R> {
    try {
      const p = this.#prepare(text)
      const args = params.map(bindValue)
      if (!p.returnsRows) return { rows: [], rowCount: Number(p.stmt.run(...args).changes) }
      const rows = p.stmt.all(...args).map((raw) => {
        const row: Record<string, unknown> = { ...raw }
        for (const c of p.arrays) if (typeof row[c] === 'string') row[c] = JSON.parse(row[c])
        for (const c of p.booleans) if (row[c] !== null) row[c] = Boolean(row[c])
        return row as R
      })
      return { rows, rowCount: rows.length }
    } catch (err) {
      throw sqlError(err, text)
    }
  }

  async close(): Promise<void> {
    while (this.#tx) await this.#tx
    if (this.#db.isOpen) this.#db.close()
  }
}

/**
 * SqlClient over PGlite: PostgreSQL compiled to WASM, in-process, persisted under a folder. The
 * embedded default when no `DATABASE_URL` is set; the same SQL text runs on both.
 *
 * PGlite has a single connection and serialises queries itself; `transaction` holds it exclusively,
 * so other queries wait until the transaction ends.
 */
import { mkdirSync } from 'node:fs'
import { PGlite } from '@electric-sql/pglite'
import type { SqlClient, SqlResult } from './sql.ts'
import { postgresDialect } from './dialect.ts'

interface PGliteResults {
  rows: unknown[]
  affectedRows?: number
  rowCount?: number
  command?: string
}

/** Same meaning as node-postgres: rows affected for INSERT/UPDATE/DELETE, rows returned for SELECT. */
function toResult<R>(res: PGliteResults): SqlResult<R> {
  const rowCount = res.rowCount ?? (res.command === 'SELECT' ? res.rows.length : (res.affectedRows ?? 0))
  return { rows: res.rows as R[], rowCount }
}

export class PGliteSql implements SqlClient {
  readonly dialect = postgresDialect
  readonly #db: PGlite

  private constructor(db: PGlite) {
    this.#db = db
  }

  /** `dataDir` undefined = in-memory (tests). */
  static async open(dataDir?: string): Promise<PGliteSql> {
    if (dataDir !== undefined) mkdirSync(dataDir, { recursive: true })
    // The catalog and sites tables are a few KB; Postgres's default 128 MB of shared buffers would
    // cost ~120 MB of RSS in the WASM heap (measured: 357 → 238 MB for the whole process).
    const db = await PGlite.create(dataDir, { postgresqlconf: 'shared_buffers=16MB' })
    return new PGliteSql(db)
  }

  async query<R = Record<string, unknown>>(text: string, params?: unknown[]): Promise<SqlResult<R>> {
    return toResult<R>(await this.#db.query(text, params))
  }

  async transaction<T>(fn: (tx: Pick<SqlClient, 'query'>) => Promise<T>): Promise<T> {
    return this.#db.transaction(async (t) =>
      fn({ query: async <R>(text: string, params?: unknown[]) => toResult<R>(await t.query(text, params)) }),
    )
  }

  async close(): Promise<void> {
    if (!this.#db.closed) await this.#db.close()
  }
}

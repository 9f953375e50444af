/**
 * A minimal SQL client shared by the JDBC catalog and the site store, implemented over node-postgres
 * (`DATABASE_URL`), over SQLite (the embedded default) and over PGlite (embedded Postgres, kept
 * selectable). Only `$1`-style parameters are used so all accept the same text; what cannot be
 * written once is asked of `dialect` (dialect.ts).
 *
 * Implementations: `pg.ts` (PgSql), `sqlite.ts` (SqliteSql), `pglite.ts` (PGliteSql);
 * `openSql(config)` in `index.ts` picks one.
 */
import type { SqlDialect } from './dialect.ts'

export interface SqlResult<R> {
  rows: R[]
  /** Rows affected by INSERT/UPDATE/DELETE (the JDBC catalog's CAS checks this equals 1). */
  rowCount: number
}

export interface SqlClient {
  /** The statements that differ between the engines (Postgres or SQLite). */
  readonly dialect: SqlDialect
  query<R = Record<string, unknown>>(text: string, params?: unknown[]): Promise<SqlResult<R>>
  /** Runs `fn` in one transaction on one connection. */
  transaction<T>(fn: (tx: Pick<SqlClient, 'query'>) => Promise<T>): Promise<T>
  close(): Promise<void>
  /**
   * Postgres LISTEN on `channel` over a dedicated connection that reconnects by itself. Only where
   * other processes can share the database (PgSql); the embedded databases have no such peers.
   */
  listen?(channel: string, handlers: NotificationHandlers): Promise<void>
}

export interface NotificationHandlers {
  /** A NOTIFY on the channel (its payload). */
  notify(payload: string): void
  /** The connection was re-established: notifications sent meanwhile are lost, re-read everything. */
  resync(): void
}

/**
 * SqlClient over node-postgres (`DATABASE_URL`): a small pool; transactions pin one connection.
 */
import pg from 'pg'
import type { SqlClient, SqlResult } from './sql.ts'

export interface PgSqlOptions {
  /** Pool size (default 4: the catalog and site store issue few, short statements). */
  max?: number
  /** Called for errors on idle pooled connections (e.g. the server restarted); default ignores them. */
  onIdleError?: (err: Error) => void
}

function toResult<R>(res: pg.QueryResult): SqlResult<R> {
  return { rows: res.rows as R[], rowCount: res.rowCount ?? 0 }
}

export class PgSql implements SqlClient {
  readonly #pool: pg.Pool

  constructor(connectionString: string, options: PgSqlOptions = {}) {
    this.#pool = new pg.Pool({ connectionString, max: options.max ?? 4 })
    // Without a listener, an idle connection dropped by the server would crash the process;
    // the next query simply gets a fresh connection.
    this.#pool.on('error', options.onIdleError ?? (() => {}))
  }

  async query<R = Record<string, unknown>>(text: string, params?: unknown[]): Promise<SqlResult<R>> {
    return toResult<R>(await this.#pool.query(text, params))
  }

  async transaction<T>(fn: (tx: Pick<SqlClient, 'query'>) => Promise<T>): Promise<T> {
    const client = await this.#pool.connect()
    let broken: Error | undefined
    try {
      await client.query('BEGIN')
      const tx: Pick<SqlClient, 'query'> = {
        query: async <R>(text: string, params?: unknown[]) => toResult<R>(await client.query(text, params)),
      }
      const out = await fn(tx)
      await client.query('COMMIT')
      return out
    } catch (err) {
      await client.query('ROLLBACK').catch((e: Error) => (broken = e))
      throw err
    } finally {
      // A connection whose ROLLBACK failed is in an unknown state: destroy it instead of reusing it.
      client.release(broken)
    }
  }

  async close(): Promise<void> {
    await this.#pool.end()
  }
}

/**
 * SqlClient over node-postgres (`DATABASE_URL`): a small pool; transactions pin one connection.
 */
import pg from 'pg'
import type { NotificationHandlers, SqlClient, SqlResult } from './sql.ts'
import { postgresDialect } from './dialect.ts'

export interface PgSqlOptions {
  /** Pool size (default 4: the catalog and site store issue few, short statements). */
  max?: number
  /** Called for errors on idle pooled connections (e.g. the server restarted); default ignores them. */
  onIdleError?: (err: Error) => void
  /**
   * Give up opening a connection after this long (DATABASE_CONNECT_TIMEOUT_SECONDS; default 5 s).
   * Without it a database behind a dead network path holds every caller until the OS gives up
   * (minutes), so an outage would stall requests instead of failing them fast.
   */
  connectTimeoutMs?: number
}

function toResult<R>(res: pg.QueryResult): SqlResult<R> {
  return { rows: res.rows as R[], rowCount: res.rowCount ?? 0 }
}

export class PgSql implements SqlClient {
  readonly dialect = postgresDialect
  readonly #pool: pg.Pool
  readonly #connectionString: string
  readonly #listeners = new Set<pg.Client>()
  readonly #connectTimeoutMs: number
  #closed = false

  constructor(connectionString: string, options: PgSqlOptions = {}) {
    this.#connectionString = connectionString
    this.#connectTimeoutMs = options.connectTimeoutMs ?? 5000
    this.#pool = new pg.Pool({
      connectionString,
      max: options.max ?? 4,
      connectionTimeoutMillis: this.#connectTimeoutMs,
    })
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

  /**
   * LISTEN needs a connection of its own for as long as the process runs (a pooled one would be
   * handed to other queries). When it breaks (server restart, network), it is re-opened with
   * backoff and `resync` tells the caller that notifications may have been missed meanwhile.
   */
  async listen(channel: string, handlers: NotificationHandlers): Promise<void> {
    const connect = async (): Promise<void> => {
      const client = new pg.Client({
        connectionString: this.#connectionString,
        connectionTimeoutMillis: this.#connectTimeoutMs,
      })
      let reconnecting = false
      const reconnect = () => {
        if (reconnecting || this.#closed) return
        reconnecting = true
        this.#listeners.delete(client)
        client.end().catch(() => {})
        const retry = (delayMs: number) =>
          setTimeout(() => {
            if (this.#closed) return
            connect().then(
              () => handlers.resync(),
              () => retry(Math.min(delayMs * 2, 30_000)),
            )
          }, delayMs).unref()
        retry(500)
      }
      client.on('error', reconnect)
      client.on('end', reconnect)
      client.on('notification', (m) => {
        if (m.channel === channel) handlers.notify(m.payload ?? '')
      })
      this.#listeners.add(client)
      try {
        await client.connect()
        await client.query(`LISTEN ${pg.escapeIdentifier(channel)}`)
      } catch (err) {
        this.#listeners.delete(client)
        reconnecting = true // a failed first attempt is the caller's (or the retry loop's) to handle
        await client.end().catch(() => {})
        throw err
      }
    }
    await connect()
  }

  async close(): Promise<void> {
    this.#closed = true
    await Promise.all([...this.#listeners].map((c) => c.end().catch(() => {})))
    this.#listeners.clear()
    await this.#pool.end()
  }
}

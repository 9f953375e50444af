/**
 * One maintenance run per table at a time, across replicas: a lease row in Floe's SQL store.
 *
 * Why a lease row and not `pg_try_advisory_lock`: an advisory lock belongs to one database session,
 * and Floe's SqlClient is a pool (node-postgres) or PGlite; holding a session for the length of a
 * compaction would need a dedicated connection per table and dies silently with it. A row with an
 * expiry, judged by the database's own clock (`now()`), works the same on Postgres and SQLite,
 * survives reconnects, and a crashed holder's lease simply runs out.
 *
 * Why for every catalog type: every Floe replica already shares this store (the sites table lives
 * there; `DATABASE_URL`), whether the tables are catalogued by jdbc, rest, hadoop or glue. The key
 * is the table's `table-uuid`, so two catalog names for one table still share one lease.
 *
 * The holder renews the lease while it works and checks it right before each commit
 * (`stillHeld`); a holder that lost it stops. Correctness does not rest on the lease alone: every
 * maintenance commit validates against the table as it is (see replace.ts), which is also what
 * keeps Floe correct beside Spark's or Trino's maintenance, which know nothing of this row.
 */
import type { SqlClient } from '../storage/sql.ts'
import { ddlOnFirstUse } from '../storage/ddl.ts'

const DDL = `CREATE TABLE IF NOT EXISTS floe_maintenance_lease (
  table_key TEXT PRIMARY KEY,
  owner TEXT NOT NULL,
  expires_at TIMESTAMPTZ NOT NULL
)`

export class MaintenanceLeases {
  readonly #init: () => Promise<void>

  constructor(
    private readonly sql: Pick<SqlClient, 'query' | 'transaction' | 'dialect'>,
    /** This process's identity (unique per replica). */
    readonly owner: string,
    private readonly ttlMs: number,
  ) {
    this.#init = ddlOnFirstUse(sql, DDL)
  }

  /** Take the lease on `key` if it is free, expired or already ours. */
  async tryAcquire(key: string): Promise<boolean> {
    await this.#init()
    const r = await this.sql.query(
      `INSERT INTO floe_maintenance_lease (table_key, owner, expires_at)
       VALUES ($1, $2, ${this.sql.dialect.nowPlusMs('$3')})
       ON CONFLICT (table_key) DO UPDATE SET owner = EXCLUDED.owner, expires_at = EXCLUDED.expires_at
       WHERE floe_maintenance_lease.expires_at < now() OR floe_maintenance_lease.owner = EXCLUDED.owner`,
      [key, this.owner, this.ttlMs],
    )
    return r.rowCount === 1
  }

  /** Extend our lease; false when it is no longer ours (expired and taken by another replica). */
  async renew(key: string): Promise<boolean> {
    await this.#init()
    const r = await this.sql.query(
      `UPDATE floe_maintenance_lease SET expires_at = ${this.sql.dialect.nowPlusMs('$3')}
       WHERE table_key = $1 AND owner = $2`,
      [key, this.owner, this.ttlMs],
    )
    return r.rowCount === 1
  }

  /** True while the lease is ours and has not run out. */
  async stillHeld(key: string): Promise<boolean> {
    await this.#init()
    const r = await this.sql.query(
      `SELECT 1 FROM floe_maintenance_lease WHERE table_key = $1 AND owner = $2 AND expires_at > now()`,
      [key, this.owner],
    )
    return r.rows.length === 1
  }

  async release(key: string): Promise<void> {
    await this.#init()
    await this.sql.query(`DELETE FROM floe_maintenance_lease WHERE table_key = $1 AND owner = $2`, [
      key,
      this.owner,
    ])
  }

  /** Who holds `key` now (for the admin answer), if anyone. */
  async holder(key: string): Promise<string | undefined> {
    await this.#init()
    const r = await this.sql.query<{ owner: string }>(
      `SELECT owner FROM floe_maintenance_lease WHERE table_key = $1 AND expires_at > now()`,
      [key],
    )
    return r.rows[0]?.owner
  }
}

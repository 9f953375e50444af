/**
 * Which writer owns which partition of a log that has no consumer groups (NATS JetStream): lease
 * rows in Floe's SQL store, like the maintenance lease (maintenance/lease.ts, which says why a row
 * with an expiry and not an advisory lock).
 *
 * Why Postgres and not a NATS KV bucket: every Floe process already shares this database (sites,
 * the JDBC catalog), its `now()` is one clock for every expiry, and a writer that cannot reach it
 * cannot do useful work anyway (no commit without the catalog). A KV lease would add a second
 * failure domain whose outage stops writers that could still commit.
 *
 * Membership: each writer renews a member row; the live members, sorted, share the partitions
 * round-robin (partition i → member i mod M), so a joining writer knows at once which partitions
 * to ask for and the holders know which to give up. A partition moves only once its holder
 * released it (after its in-flight commit) or its lease ran out (the holder died).
 *
 * Correctness does not rest on the lease: every commit checks, against the table it commits on,
 * that no other writer committed its positions first (src/log/writer.ts). The lease only keeps two
 * writers from doing the same work.
 */
import type { SqlClient } from '../storage/sql.ts'
import { ddlOnFirstUse } from '../storage/ddl.ts'

const DDL = [
  `CREATE TABLE IF NOT EXISTS floe_log_member (
  log_name TEXT NOT NULL,
  owner TEXT NOT NULL,
  expires_at TIMESTAMPTZ NOT NULL,
  PRIMARY KEY (log_name, owner)
)`,
  `CREATE TABLE IF NOT EXISTS floe_log_lease (
  log_name TEXT NOT NULL,
  part TEXT NOT NULL,
  owner TEXT NOT NULL,
  expires_at TIMESTAMPTZ NOT NULL,
  PRIMARY KEY (log_name, part)
)`,
]

export class PartitionLeases {
  readonly #init: () => Promise<void>

  constructor(
    private readonly sql: Pick<SqlClient, 'query' | 'transaction' | 'dialect'>,
    /** The log these partitions belong to (e.g. `nats/floe-events`). */
    readonly logName: string,
    /** This writer's identity (unique per process). */
    readonly owner: string,
    private readonly ttlMs: number,
  ) {
    this.#init = ddlOnFirstUse(sql, ...DDL)
  }

  /** Renews this writer's membership; answers the live members, sorted. */
  async heartbeat(): Promise<string[]> {
    await this.#init()
    await this.sql.query(
      `INSERT INTO floe_log_member (log_name, owner, expires_at)
       VALUES ($1, $2, now() + $3 * interval '1 millisecond')
       ON CONFLICT (log_name, owner) DO UPDATE SET expires_at = EXCLUDED.expires_at`,
      [this.logName, this.owner, this.ttlMs],
    )
    const r = await this.sql.query<{ owner: string }>(
      `SELECT owner FROM floe_log_member WHERE log_name = $1 AND expires_at > now() ORDER BY owner`,
      [this.logName],
    )
    return r.rows.map((x) => x.owner)
  }

  /** Takes or renews the leases on `parts` that are free, expired or ours; answers those now ours. */
  async acquire(parts: readonly string[]): Promise<string[]> {
    await this.#init()
    const got: string[] = []
    for (const part of parts) {
      const r = await this.sql.query(
        `INSERT INTO floe_log_lease (log_name, part, owner, expires_at)
         VALUES ($1, $2, $3, now() + $4 * interval '1 millisecond')
         ON CONFLICT (log_name, part) DO UPDATE SET owner = EXCLUDED.owner, expires_at = EXCLUDED.expires_at
         WHERE floe_log_lease.expires_at < now() OR floe_log_lease.owner = EXCLUDED.owner`,
        [this.logName, part, this.owner, this.ttlMs],
      )
      if (r.rowCount === 1) got.push(part)
    }
    return got
  }

  async release(parts: readonly string[]): Promise<void> {
    await this.#init()
    for (const part of parts)
      await this.sql.query(`DELETE FROM floe_log_lease WHERE log_name = $1 AND part = $2 AND owner = $3`, [
        this.logName,
        part,
        this.owner,
      ])
  }

  /** Leaves the membership (graceful stop), so the others take the partitions at once. */
  async leave(): Promise<void> {
    await this.#init()
    await this.sql.query(`DELETE FROM floe_log_member WHERE log_name = $1 AND owner = $2`, [
      this.logName,
      this.owner,
    ])
  }
}

/** Partitions meant for `owner` when `members` (sorted) share `partitions` round-robin. */
export function shareOf(partitions: readonly string[], members: readonly string[], owner: string): string[] {
  const i = members.indexOf(owner)
  if (i < 0) return []
  return partitions.filter((_, p) => p % members.length === i)
}

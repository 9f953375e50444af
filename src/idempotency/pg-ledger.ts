/**
 * The idempotency ledger in Postgres (or the embedded SQLite file), table `floe_event_claims` (catalog/idempotency.sql).
 * Every replica on the same database shares it, and it outlives restarts: a `(site, event_id)`
 * claimed once within the window is a duplicate everywhere. The buffer's side of the protocol
 * (claim while the WAL record is written, settle, recover) is in buffer/buffer.ts and
 * buffer/ledger.ts; docs/idempotency.md explains the window and the crash cases.
 *
 * One statement per request (`INSERT … SELECT FROM unnest(…) ON CONFLICT … RETURNING`; in SQLite
 * `json_each` instead of `unnest`, and `WHERE true` lets SQLite parse the upsert): the rows it
 * returns are the ones this record now holds; a claim past its window is taken over in the same
 * statement (`DO UPDATE … WHERE expires_at <= now()`), so an event id may be used again after it.
 * Times come from the database's clock, the same for every replica.
 */
import { readFileSync } from 'node:fs'
import type { ClaimKey, ClaimLedger } from '../buffer/ledger.ts'
import type { Row } from '../rows.ts'
import type { SqlClient } from '../storage/sql.ts'
import { applyDdl } from '../storage/ddl.ts'

const DDL = readFileSync(new URL('../../catalog/idempotency.sql', import.meta.url), 'utf8')

export interface PgLedgerOptions {
  /** FLOE_IDEMPOTENCY_WINDOW_SECONDS (> 0). */
  windowSeconds: number
  /** Clock for the "received longer ago than the window" rule (tests). */
  now?: () => number
}

const keyString = (k: ClaimKey) => `${k.siteId}\n${k.eventId}`

export class PgLedger implements ClaimLedger {
  private constructor(
    private readonly sql: SqlClient,
    private readonly o: PgLedgerOptions,
  ) {}

  static async open(sql: SqlClient, options: PgLedgerOptions): Promise<PgLedger> {
    await applyDdl(sql, DDL)
    return new PgLedger(sql, options)
  }

  /** `/v1/events` rows: the client's event id is the key, within its site. */
  keyOf(row: Row): ClaimKey | undefined {
    if (row.source !== 'v1' || typeof row.event_id !== 'string' || typeof row.site_id !== 'string')
      return undefined
    return { siteId: row.site_id, eventId: row.event_id }
  }

  async claim(writerId: string, seq: number, rows: readonly Row[]): Promise<Set<Row>> {
    const duplicates = new Set<Row>()
    const first = new Map<string, Row>()
    for (const row of rows) {
      const key = this.keyOf(row)
      if (!key) continue
      const k = keyString(key)
      if (first.has(k))
        duplicates.add(row) // the same id twice in one request: the first counts
      else first.set(k, row)
    }
    if (first.size === 0) return duplicates
    const sites: string[] = []
    const ids: string[] = []
    for (const row of first.values()) {
      sites.push(row.site_id as string)
      ids.push(row.event_id as string)
    }
    const d = this.sql.dialect
    const { rows: won } = await this.sql.query<{ site_id: string; event_id: string }>(
      `INSERT INTO floe_event_claims (site_id, event_id, writer_id, wal_seq, claimed_at, expires_at)
       SELECT k.s, k.e, $3, $4, now(), ${d.nowPlusMs('$5')}
         FROM ${d.textPairs('$1', '$2')}
        WHERE true
       ON CONFLICT (site_id, event_id) DO UPDATE
          SET writer_id = excluded.writer_id, wal_seq = excluded.wal_seq,
              claimed_at = excluded.claimed_at, expires_at = excluded.expires_at
        WHERE floe_event_claims.expires_at <= now()
       RETURNING site_id, event_id`,
      [sites, ids, writerId, seq, this.o.windowSeconds * 1000],
    )
    const ours = new Set(won.map((r) => keyString({ siteId: r.site_id, eventId: r.event_id })))
    for (const [k, row] of first) if (!ours.has(k)) duplicates.add(row)
    return duplicates
  }

  async held(
    writerId: string,
    records: ReadonlyArray<{ seq: number; rows: readonly Row[] }>,
  ): Promise<Set<Row>> {
    const sites: string[] = []
    const ids: string[] = []
    for (const r of records)
      for (const row of r.rows) {
        const key = this.keyOf(row)
        if (key) {
          sites.push(key.siteId)
          ids.push(key.eventId)
        }
      }
    const claims = new Map<string, { writer: string; seq: number }>()
    if (sites.length > 0) {
      const { rows } = await this.sql.query<{
        site_id: string
        event_id: string
        writer_id: string
        wal_seq: string | number
      }>(
        `SELECT c.site_id, c.event_id, c.writer_id, c.wal_seq
           FROM floe_event_claims c
           JOIN ${this.sql.dialect.textPairs('$1', '$2')} ON c.site_id = k.s AND c.event_id = k.e`,
        [sites, ids],
      )
      for (const c of rows)
        claims.set(keyString({ siteId: c.site_id, eventId: c.event_id }), {
          writer: c.writer_id,
          seq: Number(c.wal_seq),
        })
    }
    // A claim cleaned up after its window leaves no trace: rows received before the window are kept.
    const oldMicros = ((this.o.now ?? Date.now)() - this.o.windowSeconds * 1000) * 1000
    const held = new Set<Row>()
    for (const r of records)
      for (const row of r.rows) {
        const key = this.keyOf(row)
        if (!key) continue
        const claim = claims.get(keyString(key))
        if (claim ? claim.writer === writerId && claim.seq === r.seq : Number(row.received_at) < oldMicros)
          held.add(row)
      }
    return held
  }

  async release(writerId: string, which: { fromSeq: number } | { seqs: number[] }): Promise<void> {
    if ('fromSeq' in which)
      await this.sql.query('DELETE FROM floe_event_claims WHERE writer_id = $1 AND wal_seq >= $2', [
        writerId,
        which.fromSeq,
      ])
    else if (which.seqs.length > 0)
      await this.sql.query(
        `DELETE FROM floe_event_claims WHERE writer_id = $1 AND ${this.sql.dialect.inNumbers('wal_seq', '$2')}`,
        [writerId, which.seqs],
      )
  }

  /** Deletes claims past their window (run by the schedule in app.ts); returns how many. */
  async cleanup(): Promise<number> {
    const { rowCount } = await this.sql.query('DELETE FROM floe_event_claims WHERE expires_at <= now()')
    return rowCount
  }
}

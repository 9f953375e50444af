/**
 * Commit requests: how a writer hands the data files it staged to the commit coordinator of their
 * table (src/log/commit-coordinator.ts). A row per request in Floe's SQL store, the database every
 * writer already shares for its partition leases; a NOTIFY wakes the coordinator at once, and
 * another tells the writers that requests were decided (each polls its own row too, so a lost
 * notification only costs a poll interval).
 *
 * A request's life: `pending` (inserted by the writer) → `committed` (its files are in the
 * snapshot `snapshot_id`), `held` (the table already held all of its positions: a coordinator
 * committed it and died before saying so, or another writer committed those rows first) or
 * `rejected` (the table holds some of its positions but not all: its files mix held and new rows,
 * so they cannot be committed; the writer stages the rest again). The writer deletes its row once
 * it read the outcome; the coordinator deletes decided rows nobody collected (their writer died).
 */
import { randomUUID } from 'node:crypto'
import type { SqlClient } from '../storage/sql.ts'
import { ddlOnFirstUse } from '../storage/ddl.ts'
import type { DataFile } from '../write/manifest.ts'
import { dataFilesFromJson, dataFilesToJson } from '../write/data-file-json.ts'

const DDL = `CREATE TABLE IF NOT EXISTS floe_commit_request (
  id TEXT PRIMARY KEY,
  table_name TEXT NOT NULL,
  writer TEXT NOT NULL,
  files TEXT NOT NULL,
  records BIGINT NOT NULL,
  positions TEXT NOT NULL,
  state TEXT NOT NULL,
  snapshot_id TEXT,
  metadata_location TEXT,
  snapshot_count INTEGER,
  created_ms BIGINT NOT NULL,
  decided_ms BIGINT
)`

/** NOTIFY channel: a request was submitted (payload: its table). */
export const SUBMITTED_CHANNEL = 'floe_commit_request'
/** NOTIFY channel: requests were decided (payload: their table). */
export const DECIDED_CHANNEL = 'floe_commit_decided'

/** Per partition key (`<log>/<partition>`), the first and last position a request's rows came from. */
export type Claim = Record<string, { first: number; last: number }>

export type RequestState = 'pending' | 'committed' | 'held' | 'rejected'

export interface CommitRequest {
  id: string
  table: string
  writer: string
  files: DataFile[]
  records: number
  positions: Claim
  createdMs: number
}

export interface Decision {
  state: RequestState
  snapshotId?: bigint
  metadataLocation?: string
  snapshotCount?: number
}

interface Row {
  id: string
  table_name: string
  writer: string
  files: string
  records: string | number
  positions: string
  state: RequestState
  snapshot_id: string | null
  metadata_location: string | null
  snapshot_count: number | null
  created_ms: string | number
}

export class CommitRequests {
  readonly #init: () => Promise<void>

  constructor(private readonly sql: Pick<SqlClient, 'query' | 'transaction' | 'dialect' | 'listen'>) {
    this.#init = ddlOnFirstUse(sql, DDL)
  }

  private async notify(channel: string, table: string): Promise<void> {
    if (this.sql.dialect.notify) await this.sql.query(this.sql.dialect.notify, [channel, table])
  }

  /** Wakes `handler` on every notification of `channel` (and after a reconnect, when some may be lost). */
  async listen(channel: string, handler: (table: string | undefined) => void): Promise<void> {
    await this.sql.listen?.(channel, { notify: (t) => handler(t), resync: () => handler(undefined) })
  }

  /** Hands staged files to the coordinator; answers the request's id. */
  async submit(r: {
    table: string
    writer: string
    files: readonly DataFile[]
    records: number
    positions: Claim
  }): Promise<string> {
    await this.#init()
    const id = randomUUID()
    await this.sql.query(
      `INSERT INTO floe_commit_request (id, table_name, writer, files, records, positions, state, created_ms)
       VALUES ($1, $2, $3, $4, $5, $6, 'pending', $7)`,
      [id, r.table, r.writer, dataFilesToJson(r.files), r.records, JSON.stringify(r.positions), Date.now()],
    )
    await this.notify(SUBMITTED_CHANNEL, r.table)
    return id
  }

  /** The request's state now; undefined when the row is gone. */
  async decision(id: string): Promise<Decision | undefined> {
    await this.#init()
    const r = await this.sql.query<Row>(`SELECT * FROM floe_commit_request WHERE id = $1`, [id])
    const row = r.rows[0]
    if (!row) return undefined
    return {
      state: row.state,
      ...(row.snapshot_id !== null ? { snapshotId: BigInt(row.snapshot_id) } : {}),
      ...(row.metadata_location !== null ? { metadataLocation: row.metadata_location } : {}),
      ...(row.snapshot_count !== null ? { snapshotCount: Number(row.snapshot_count) } : {}),
    }
  }

  /** Withdraws a request still pending (the writer gave up waiting); true when it was. */
  async withdraw(id: string): Promise<boolean> {
    await this.#init()
    const r = await this.sql.query(`DELETE FROM floe_commit_request WHERE id = $1 AND state = 'pending'`, [
      id,
    ])
    return r.rowCount === 1
  }

  /** The writer read the outcome: the row goes. */
  async forget(id: string): Promise<void> {
    await this.#init()
    await this.sql.query(`DELETE FROM floe_commit_request WHERE id = $1`, [id])
  }

  /** True when `table` has pending requests (cheap: asked on every coordinator tick). */
  async anyPending(table: string): Promise<boolean> {
    await this.#init()
    const r = await this.sql.query(
      `SELECT 1 FROM floe_commit_request WHERE table_name = $1 AND state = 'pending' LIMIT 1`,
      [table],
    )
    return r.rows.length > 0
  }

  /** The oldest `limit` pending requests of `table`, in submission order. */
  async pending(table: string, limit: number): Promise<CommitRequest[]> {
    await this.#init()
    const r = await this.sql.query<Row>(
      `SELECT * FROM floe_commit_request WHERE table_name = $1 AND state = 'pending'
       ORDER BY created_ms, id LIMIT $2`,
      [table, limit],
    )
    return r.rows.map((row) => ({
      id: row.id,
      table: row.table_name,
      writer: row.writer,
      files: dataFilesFromJson(row.files),
      records: Number(row.records),
      positions: JSON.parse(row.positions) as Claim,
      createdMs: Number(row.created_ms),
    }))
  }

  /** Records the outcome of requests still pending, then tells the writers. */
  async decide(table: string, ids: readonly string[], decision: Decision): Promise<void> {
    if (ids.length === 0) return
    await this.#init()
    const now = Date.now()
    await this.sql.transaction(async (tx) => {
      for (const id of ids)
        await tx.query(
          `UPDATE floe_commit_request SET state = $2, snapshot_id = $3, metadata_location = $4,
             snapshot_count = $5, decided_ms = $6
           WHERE id = $1 AND state = 'pending'`,
          [
            id,
            decision.state,
            decision.snapshotId?.toString() ?? null,
            decision.metadataLocation ?? null,
            decision.snapshotCount ?? null,
            now,
          ],
        )
    })
    await this.notify(DECIDED_CHANNEL, table)
  }

  /** Deletes decided requests older than `ageMs` that no writer collected (it died waiting). */
  async sweep(ageMs: number): Promise<number> {
    await this.#init()
    const r = await this.sql.query(
      `DELETE FROM floe_commit_request WHERE state <> 'pending' AND decided_ms < $1`,
      [Date.now() - ageMs],
    )
    return r.rowCount
  }
}

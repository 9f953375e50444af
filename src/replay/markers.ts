/**
 * The replay markers (`floe_replayed_events`, catalog/replay.sql): each `pa_rejected` row is
 * re-sent at most once. A replay first claims its rows' ids (`pending`, one statement; the
 * primary key lets one replica win), then settles them: `accepted` or `duplicate` stay for good,
 * while a row refused again, or one whose rows the sink did not take (503), is released so a
 * later replay (after the next fix) may try it again.
 *
 * A replay cut short by a crash leaves `pending` markers; after `takeoverSeconds` another replay
 * may take them over. The events it re-sends then are guarded by the idempotency ledger where they
 * have a key (`/v1/events` event ids, within FLOE_IDEMPOTENCY_WINDOW_SECONDS): docs/dead-letter.md.
 */
import { readFileSync } from 'node:fs'
import type { SqlClient } from '../storage/sql.ts'
import { applyDdl } from '../storage/ddl.ts'

const DDL = readFileSync(new URL('../../catalog/replay.sql', import.meta.url), 'utf8')

export type ReplayOutcome = 'pending' | 'accepted' | 'duplicate'

export class ReplayMarkers {
  private constructor(
    private readonly sql: Pick<SqlClient, 'query' | 'dialect'>,
    private readonly takeoverSeconds: number,
  ) {}

  static async open(
    sql: Pick<SqlClient, 'query' | 'transaction' | 'dialect'>,
    opts: { takeoverSeconds?: number } = {},
  ): Promise<ReplayMarkers> {
    await applyDdl(sql, DDL)
    return new ReplayMarkers(sql, opts.takeoverSeconds ?? 600)
  }

  /** Claims the ids not replayed yet; resolves with those this call now holds. */
  async claim(rows: ReadonlyArray<{ rejectedId: string; siteId: string }>): Promise<Set<string>> {
    if (rows.length === 0) return new Set()
    const { rows: won } = await this.sql.query<{ rejected_id: string }>(
      `INSERT INTO floe_replayed_events (rejected_id, site_id, outcome)
         SELECT k.s, k.e, 'pending' FROM ${this.sql.dialect.textPairs('$1', '$2')}
       ON CONFLICT (rejected_id) DO UPDATE SET replayed_at = now()
         WHERE floe_replayed_events.outcome = 'pending'
           AND floe_replayed_events.replayed_at < ${this.sql.dialect.nowPlusMs('$3')}
       RETURNING rejected_id`,
      [rows.map((r) => r.rejectedId), rows.map((r) => r.siteId), -this.takeoverSeconds * 1000],
    )
    return new Set(won.map((r) => r.rejected_id))
  }

  /** Records the final outcome of claimed ids. */
  async settle(ids: readonly string[], outcome: Exclude<ReplayOutcome, 'pending'>): Promise<void> {
    if (ids.length === 0) return
    await this.sql.query(
      `UPDATE floe_replayed_events SET outcome = $2, replayed_at = now() WHERE ${this.sql.dialect.inTexts('rejected_id', '$1')}`,
      [ids, outcome],
    )
  }

  /** Forgets claimed ids (refused again, or not taken by the sink): a later replay may try them. */
  async release(ids: readonly string[]): Promise<void> {
    if (ids.length === 0) return
    await this.sql.query(
      `DELETE FROM floe_replayed_events WHERE ${this.sql.dialect.inTexts('rejected_id', '$1')} AND outcome = 'pending'`,
      [ids],
    )
  }
}

/**
 * What the receiver hands accepted rows to. The buffer implements it (`src/buffer/`).
 *
 * `accept` resolves only once the rows are durable per the WAL fsync policy, so the receiver may
 * answer 2xx right after it. It rejects with BackpressureError (→ 503 + Retry-After) when the
 * unflushed backlog is over its limit, and with ShuttingDownError-like BackpressureError during drain.
 */
import type { Row, RowsByTable } from '../rows.ts'

export interface AcceptOptions {
  /**
   * Claim the keyed `pa_events` rows in the idempotency ledger (buffer/ledger.ts): a row whose
   * `(site, event_id)` another accepted event holds within the window is not kept, and is named in
   * the result's `duplicates`.
   */
  claim?: boolean
}

export interface AcceptResult {
  /** The `pa_events` rows (the objects passed in) that were duplicates and are not kept. */
  duplicates: ReadonlySet<Row>
}

export interface EventSink {
  accept(rows: RowsByTable, options?: AcceptOptions): Promise<AcceptResult | void>
}

/**
 * What the receiver hands accepted rows to. The buffer implements it (`src/buffer/`).
 *
 * `accept` resolves only once the rows are durable per the WAL fsync policy, so the receiver may
 * answer 2xx right after it. It rejects with BackpressureError (→ 503 + Retry-After) when the
 * unflushed backlog is over its limit, and with ShuttingDownError-like BackpressureError during drain.
 */
import type { RowsByTable } from '../rows.ts'

export interface EventSink {
  accept(rows: RowsByTable): Promise<void>
}

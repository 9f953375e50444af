/**
 * The boundary between receiving and writing (issue 14's shape, inside one process today):
 *
 *   receiver (HTTP, enrich) ──rows──▶ EventLog ──records in position order──▶ writer (buffer, flush,
 *                                                                              Parquet, commit)
 *
 * - The **receiver** hands each request's rows to an `EventLog` and answers 2xx once `durable`
 *   resolved: the log's promise, not the writer's, is what an acknowledgement means.
 * - The **log** gives every record a position (`seq`) that only grows, and keeps records until the
 *   writer says they are committed (`truncate`). The local write-ahead log (`wal.ts`, group commit,
 *   fsync policy) is one implementation; `disabledWal` another (no durability, for measuring); a
 *   replicated log (NATS JetStream, Kafka: stream sequences or partition offsets) is the next.
 * - The **writer** (`TableFlusher` per table, on the rows buffered per table) commits only
 *   positions up to `durableSeq`, one table's snapshots in position order, and records the
 *   highest position of each snapshot in its summary (`floe.writer-id`, `floe.wal-seq`) and in a
 *   table property, so after a crash it resumes from the table itself (recovery.ts): nothing lost,
 *   nothing twice. Encoding runs where the writer's `AppendEncoder` says (worker threads by default).
 */
import type { TableName } from '../rows.ts'
import type { TableRows } from './wal-record.ts'

export interface Appended {
  /** The record's position in the log. */
  seq: number
  /** Bytes of each table's rows in the record (absent for a disabled log). */
  sizes: Partial<Record<TableName, number>>
  /** Resolves once the record is durable per the log's policy; rejects if it was not kept. */
  durable: Promise<void>
}

export interface EventLog {
  /** False for the disabled log: then a 2xx means "in memory" only. */
  readonly enabled: boolean
  /** Highest position whose record is durable; the writer may only commit rows up to it. */
  readonly durableSeq: number
  /**
   * One record for all tables of one `accept`: durable together or not at all. `claimed`: its keyed
   * rows are claimed in the idempotency ledger under this position (wal-record.ts, ledger.ts).
   */
  append(tables: TableRows, claimed?: boolean): Appended
  /** The writer committed every record with seq <= throughSeq (in every table): they may go. */
  truncate(throughSeq: number): Promise<void>
  sizeBytes(): number
  segmentCount(): number
  close(): Promise<void>
}

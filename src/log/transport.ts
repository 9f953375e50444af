/**
 * A replicated, partitioned log between receivers and writers (issue 14): NATS JetStream and Kafka
 * implement it; the local WAL (`buffer/wal.ts`) stays the single-process `EventLog`.
 *
 *   receiver ──publish(key = site id)──▶ partitioned log ──records in position order per partition──▶ writer
 *
 * Positions are per partition and only grow (Kafka offsets, JetStream stream sequences). A writer
 * owns a set of partitions at a time; it records the last committed position of each partition it
 * committed in the snapshot summary, and only after the commit tells the log (`commit`). On
 * (re)assignment it asks the tables where each partition stands and resumes after that position, so
 * a record is in the tables exactly once whatever the log redelivers.
 *
 * This file is the contract shared by every transport (`src/log/nats.ts`, `src/log/kafka.ts`).
 */

/** Last position per partition (partition name → position). */
export type Positions = Record<string, number>

export interface LogRecordOut {
  /** Site id: one site's records stay in one partition, in order. */
  key: string
  value: Uint8Array
}

export interface LogRecordIn {
  position: number
  key: string
  value: Uint8Array
}

export interface LogProducer {
  /**
   * Publishes the records; resolves once the log acknowledged every one (replicated where the log
   * replicates). Rejects with `LogUnavailableError` (errors.ts) when the log is down or over its
   * limits, so the receiver answers 503 + Retry-After.
   */
  publish(records: LogRecordOut[]): Promise<void>
  close(): Promise<void>
}

export interface ConsumerHandler {
  /** Partitions assigned to this writer; answers the last position already in the tables per partition (absent: start at the beginning). */
  assigned(partitions: string[]): Promise<Positions>
  /** Partitions taken away (rebalance, shutdown): the writer stops committing them. */
  revoked(partitions: string[]): Promise<void>
  /** Records of one partition, in position order, after the positions `assigned` answered. */
  records(partition: string, records: LogRecordIn[]): Promise<void>
}

export interface LogConsumer {
  /** Starts consuming; resolves once the consumer has joined (records then flow to the handler). */
  start(handler: ConsumerHandler): Promise<void>
  /** The tables hold every record up to these positions: the log may forget them. */
  commit(positions: Positions): Promise<void>
  close(): Promise<void>
}

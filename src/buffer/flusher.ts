/**
 * One table's flush loop: takes the durable prefix of its TableBuffer, appends it as one snapshot
 * (through the TableWriter, which owns conflict handling: reload + rebuild on the new parent), and
 * drops the rows only after the commit succeeded.
 *
 * Concurrency: all work for a table runs on one promise chain, so a table never has two appends in
 * flight. That keeps its snapshots in WAL seq order, which is what makes "committed = seq <= the
 * newest snapshot's floe.wal-seq" (recovery.ts) true.
 *
 * Rows that do not fit the table schema (SchemaMismatchError; the pipeline never makes them, but a
 * WAL written by another Floe version could hold some) would fail every attempt and block the
 * table for good. They are written to the quarantine (durably, before they leave the buffer) and the
 * rest of the batch is committed at once; an error log and `floe_rows_quarantined_total` say so.
 *
 * Failure: a failed append (S3 or catalog down, retries exhausted, state unknown) keeps the rows and
 * retries with exponential backoff. Before the next attempt the table is reloaded and whatever this
 * writer's snapshots already hold is dropped, so an append whose outcome was unknown never lands twice.
 */
import type { Logger } from 'pino'
import { AlreadyCommittedError, SchemaMismatchError } from '../errors.ts'
import type { Row, TableName } from '../rows.ts'
import type { AppendResult, TableWriter } from '../write/append.ts'
import { metrics } from '../observe/metrics.ts'
import { committedSeq, propertiesFor, summaryFor } from './recovery.ts'
import type { Batch, TableBuffer } from './table-buffer.ts'
import type { TableMetadata } from '../table/metadata.ts'

/**
 * How a flusher marks what its snapshots hold, and finds it again in the table. The WAL's marks
 * (`walMarks`: writer id + highest WAL seq) are the default; a writer consuming a replicated log
 * marks positions per partition instead (src/log/writer.ts).
 */
export interface CommitMarks {
  /** Snapshot summary properties of a commit of `batch`. */
  summary(batch: Batch): Record<string, string>
  /** Table properties set in the same commit (they survive snapshot expiry). */
  properties(batch: Batch): Record<string, string>
  /** The log positions `batch` came from, per partition (a coordinated commit checks them; AppendOptions.claim). */
  claim?(batch: Batch): Record<string, { first: number; last: number }>
  /** True when the table (as loaded for a commit attempt) already holds rows of `batch`. */
  alreadyCommitted(metadata: TableMetadata, batch: Batch): boolean
  /**
   * Drops from the buffer every entry the table holds; answers the seq to report as committed
   * (`onCommitted`).
   */
  reconcile(metadata: TableMetadata): number
}

/** The WAL's marks: `floe.writer-id` + `floe.wal-seq` (recovery.ts). */
export function walMarks(writerId: string, buffer: TableBuffer): CommitMarks {
  return {
    summary: (batch) => summaryFor(writerId, batch.maxSeq),
    properties: (batch) => propertiesFor(writerId, batch.maxSeq),
    alreadyCommitted: (m, batch) => committedSeq(m, writerId) >= batch.entries[0].seq,
    reconcile(m) {
      const seq = committedSeq(m, writerId)
      buffer.drop(seq)
      return seq
    },
  }
}

export interface FlusherOptions {
  table: TableName
  buffer: TableBuffer
  writer: Pick<TableWriter, 'append' | 'load' | 'invalidRows'>
  writerId: string
  /** How commits are marked (default: the WAL's, `walMarks(writerId)`). */
  marks?: CommitMarks
  /** Highest seq that is durable in the WAL; only rows up to it may be committed. */
  durableSeq: () => number
  /** Upper bound on rows per snapshot (bounds Parquet writer memory after an outage). */
  maxRowsPerAppend: number
  backoff: { initialMs: number; maxMs: number }
  /** Called after every successful commit (WAL truncation, re-arming timers, gauges). */
  /** `committedSeq`: every row of this table with seq <= it is in the table (or the quarantine). */
  onCommitted: (table: TableName, committedSeq: number) => void
  logger?: Pick<Logger, 'warn' | 'info' | 'error'>
  /** Durably keeps rows that can never be committed (quarantine.ts). Without it they block. */
  quarantine?: (table: TableName, seq: number, rows: QuarantinedRow[]) => Promise<void>
}

export interface QuarantinedRow {
  row: Row
  reason: string
}

export class TableFlusher {
  private chain: Promise<unknown> = Promise.resolve()
  private queued = false
  private retryTimer: NodeJS.Timeout | undefined
  private failures = 0
  /** After a failed append the table state is uncertain: reload before the next attempt. */
  private mustReconcile = false
  private stopped = false
  lastError: unknown
  private readonly marks: CommitMarks

  constructor(private readonly o: FlusherOptions) {
    this.marks = o.marks ?? walMarks(o.writerId, o.buffer)
  }

  get failing(): boolean {
    return this.failures > 0
  }

  /** Delay before the next retry while failing, for Retry-After. */
  get retryDelayMs(): number {
    return this.failures === 0 ? 0 : this.backoffMs()
  }

  /** Background flush of everything durable; on failure it retries by itself with backoff. */
  trigger(): void {
    if (this.queued || this.stopped) return
    this.queued = true
    this.serial(() => {
      this.queued = false
      return this.drain(Number.MAX_SAFE_INTEGER)
    }).catch(() => this.scheduleRetry())
  }

  /**
   * Commits every row durable at call time (waiting for a flush already running) and returns the
   * snapshots made. Throws if an append fails; the rows stay buffered and background retry goes on.
   */
  flushNow(): Promise<AppendResult[]> {
    const target = this.o.durableSeq()
    const run = this.serial(() => this.drain(target))
    run.catch(() => this.scheduleRetry())
    return run
  }

  /** No more background work (shutdown); flushNow still works. */
  stop(): void {
    this.stopped = true
    clearTimeout(this.retryTimer)
  }

  private serial<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.chain.then(fn)
    this.chain = run.catch(() => undefined)
    return run
  }

  private async drain(target: number): Promise<AppendResult[]> {
    const results: AppendResult[] = []
    for (;;) {
      if (this.mustReconcile) {
        try {
          await this.reconcile()
        } catch (err) {
          this.failed(err, 0)
          throw err
        }
      }
      const batch = this.o.buffer.take(Math.min(target, this.o.durableSeq()), this.o.maxRowsPerAppend)
      if (batch.entries.length === 0) return results
      const started = performance.now()
      let result: AppendResult
      let seen: TableMetadata | undefined // the table as the append's check last saw it
      try {
        result = await this.o.writer.append(this.o.table, batch.rows, {
          summary: this.marks.summary(batch),
          properties: this.marks.properties(batch),
          claim: this.marks.claim?.(batch),
          // An earlier append of these rows whose outcome was unknown may have landed after the
          // reconcile looked: its floe.wal-seq then covers our oldest entry.
          alreadyCommitted: (m) => this.marks.alreadyCommitted((seen = m), batch),
        })
      } catch (err) {
        if (err instanceof AlreadyCommittedError) {
          this.o.logger?.warn({ table: this.o.table }, 'an earlier append landed late; reconciling')
          // Drop what the table was seen to hold (progress even if the reconcile's own load lags
          // behind, on a catalog that is only eventually consistent), then take the rest again.
          this.o.onCommitted(this.o.table, this.marks.reconcile(seen!))
          this.mustReconcile = true
          continue
        }
        if (err instanceof SchemaMismatchError) {
          let setAside: boolean
          try {
            setAside = await this.setAside(batch)
          } catch (quarantineErr) {
            this.failed(quarantineErr, batch.rows.length) // counted and logged, retried with backoff
            throw quarantineErr
          }
          if (setAside) continue
        }
        this.mustReconcile = true
        this.failed(err, batch.rows.length)
        throw err
      }
      this.o.buffer.drop(batch.maxSeq)
      this.failures = 0
      this.lastError = undefined
      // A batch whose rows were all quarantined commits nothing: no snapshot to report.
      if (result.records === 0) {
        this.o.onCommitted(this.o.table, batch.maxSeq)
        continue
      }
      const labels = { table: this.o.table }
      metrics.flushDuration.observe(labels, (performance.now() - started) / 1000)
      metrics.flushRows.observe(labels, batch.rows.length)
      metrics.flushBytes.observe(labels, batch.bytes)
      metrics.commits.inc(labels)
      metrics.lastCommit.set(labels, Date.now() / 1000)
      if (result.attempts > 1) metrics.commitConflicts.inc(labels, result.attempts - 1)
      results.push(result)
      this.o.onCommitted(this.o.table, batch.maxSeq)
    }
  }

  /** Quarantines the rows of `batch` that can never be committed; false if there are none. */
  private async setAside(batch: Batch): Promise<boolean> {
    if (!this.o.quarantine) return false
    const invalid = this.o.writer.invalidRows(this.o.table, batch.rows)
    if (invalid.length === 0) return false
    const reasons = new Map(invalid.map((b) => [batch.rows[b.index], b.error.message]))
    const bad = new Set(reasons.keys())
    let first = ''
    // Per WAL record, so a record replayed after a crash lands in the same file (skipped then).
    for (const entry of batch.entries) {
      const rows = entry.rows.filter((r) => bad.has(r)).map((row) => ({ row, reason: reasons.get(row)! }))
      if (rows.length === 0) continue
      first ||= rows[0].reason
      await this.o.quarantine(this.o.table, entry.seq, rows) // throws → the flush fails and retries
    }
    this.o.buffer.discardRows(bad)
    metrics.rowsQuarantined.inc({ table: this.o.table }, bad.size)
    this.o.logger?.error(
      { table: this.o.table, rows: bad.size, firstReason: first },
      'rows do not fit the table schema: set aside in the quarantine, committing the rest',
    )
    return true
  }

  private failed(err: unknown, rows: number): void {
    this.failures++
    this.lastError = err
    metrics.flushRetries.inc({ table: this.o.table, error: (err as Error)?.name ?? 'Error' })
    this.o.logger?.warn(
      { table: this.o.table, rows, err, attempt: this.failures },
      'flush failed; rows kept, will retry',
    )
  }

  /** Drops rows that this writer's snapshots already hold (an append whose outcome was unknown). */
  private async reconcile(): Promise<void> {
    const loaded = await this.o.writer.load(this.o.table)
    const seq = this.marks.reconcile(loaded.metadata)
    this.mustReconcile = false
    this.o.onCommitted(this.o.table, seq)
  }

  private backoffMs(): number {
    const { initialMs, maxMs } = this.o.backoff
    return Math.min(maxMs, initialMs * 2 ** Math.min(this.failures - 1, 20))
  }

  private scheduleRetry(): void {
    if (this.stopped || this.retryTimer) return
    this.retryTimer = setTimeout(() => {
      this.retryTimer = undefined
      this.trigger()
    }, this.backoffMs())
    this.retryTimer.unref()
  }
}

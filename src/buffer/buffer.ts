/**
 * The EventSink the receiver hands accepted rows to: WAL first, then per-table in-memory buffers
 * that flush to Iceberg when one of three triggers fires, whichever comes first:
 * - count: a table holds `ICEBERG_FLUSH_BATCH_SIZE` rows,
 * - bytes: a table holds `ICEBERG_FLUSH_MAX_BYTES` of encoded rows,
 * - interval: its oldest row is `ICEBERG_FLUSH_INTERVAL_SECONDS` old.
 *
 * `accept` resolves once the rows are durable in the WAL (policy in wal.ts), so a 2xx means "will
 * be committed, even after a crash". Backpressure: while the uncommitted backlog (all tables) would
 * exceed `FLOE_BACKLOG_MAX_ROWS`, `accept` throws BackpressureError (503 + Retry-After) instead of
 * taking rows it cannot keep; it accepts again as soon as flushes bring the backlog down.
 */
import type { Logger } from 'pino'
import { BackpressureError, FloeError } from '../errors.ts'
import type { FloeConfig } from '../config.ts'
import { TABLE_NAMES, type Row, type RowsByTable, type TableName } from '../rows.ts'
import type { AppendResult, TableWriter } from '../write/append.ts'
import { metrics } from '../observe/metrics.ts'
import type { AcceptOptions, AcceptResult, EventSink } from './sink.ts'
import type { ClaimLedger } from './ledger.ts'
import { TableBuffer, type BufferEntry } from './table-buffer.ts'
import { TableFlusher } from './flusher.ts'
import { drainUntil } from './drain.ts'
import { disabledWal, openWal, type WriteAheadLog } from './wal.ts'
import { committedPositions, ensureWriterId, laterPositions, recordsToReplay } from './recovery.ts'
import { lockWalDir, type WalLock } from './wal-lock.ts'
import { CheckpointSaver, readCheckpoint } from './checkpoint.ts'
import { quarantineDir, quarantineWriter } from './quarantine.ts'

/** Without a WAL there is no record size; estimate one for the bytes trigger. */
const ESTIMATED_ROW_BYTES = 512

export interface BufferOptions {
  config: Pick<FloeConfig, 'wal' | 'backlogMaxRows'> & {
    iceberg: Pick<FloeConfig['iceberg'], 'flushIntervalSeconds' | 'flushBatchSize' | 'flushMaxBytes'>
  }
  writer: Pick<TableWriter, 'append' | 'load' | 'ensureTables' | 'invalidRows'>
  logger?: Pick<Logger, 'warn' | 'info' | 'error'>
  /** Flush-retry backoff (defaults 250 ms doubling to 5 s). */
  backoff?: { initialMs: number; maxMs: number }
  /** Interval trigger in ms (defaults to flushIntervalSeconds; tests use smaller values). */
  flushIntervalMs?: number
  /** The idempotency ledger (FLOE_IDEMPOTENCY_WINDOW_SECONDS > 0); absent = no claims. */
  ledger?: ClaimLedger
}

/** No claim in the ledger: nothing to take out of a record. */
const NO_DUPLICATES: AcceptResult = { duplicates: new Set() }

export type FlushResult = Record<TableName, AppendResult[]>

/** Uncommitted rows of one table as `IngestBuffer.pending` gives them. */
export interface PendingRows {
  writerId: string
  entries: readonly Pick<BufferEntry, 'seq' | 'rows'>[]
}

export class IngestBuffer implements EventSink {
  readonly buffers: Record<TableName, TableBuffer> = {
    pa_events: new TableBuffer(),
    pa_sessions: new TableBuffer(),
    pa_rejected: new TableBuffer(),
  }
  private flushers = {} as Record<TableName, TableFlusher>
  private timers: Partial<Record<TableName, NodeJS.Timeout>> = {}
  private wal: WriteAheadLog = disabledWal()
  private state: 'new' | 'running' | 'closing' | 'closed' = 'new'
  private intervalMs: number
  private lock: WalLock | undefined
  writerId = ''
  /** Rows replayed from the WAL at start. */
  replayedRows = 0
  /** Records committed positions on disk (WAL on only). */
  private checkpoint: CheckpointSaver | undefined
  /**
   * Seqs of records whose ledger claim is not settled yet: no flush commits past the lowest one,
   * since its duplicates are still in the buffer.
   */
  private unsettled = new Set<number>()

  constructor(private readonly o: BufferOptions) {
    this.intervalMs = o.flushIntervalMs ?? o.config.iceberg.flushIntervalSeconds * 1000
  }

  /** Creates the tables if needed, replays uncommitted WAL records, and starts accepting. */
  async start(): Promise<void> {
    const { wal: walConfig } = this.o.config
    this.lock = await lockWalDir(walConfig.dir)
    try {
      await this.open()
    } catch (err) {
      await this.lock.release()
      throw err
    }
  }

  private async open(): Promise<void> {
    const { wal: walConfig } = this.o.config
    this.writerId = await ensureWriterId(walConfig.dir)
    await this.o.writer.ensureTables()
    // The chain may have lost this writer's markers to snapshot expiry; the checkpoint has not.
    const committed = laterPositions(
      await committedPositions(this.o.writer, this.writerId),
      await readCheckpoint(walConfig.dir),
    )
    if (walConfig.enabled)
      this.checkpoint = new CheckpointSaver(
        { dir: walConfig.dir, sync: walConfig.fsync !== 'never', logger: this.o.logger },
        committed,
      )
    const minNextSeq = Math.max(...Object.values(committed)) + 1
    const now = Date.now()
    if (walConfig.enabled) {
      const opened = await openWal({ ...walConfig, minNextSeq })
      this.wal = opened.wal
      const unclaimed = await this.recoverClaims(opened.records, committed.pa_events)
      for (const r of recordsToReplay(opened.records, committed)) {
        const rows = r.table === 'pa_events' ? r.rows.filter((row) => !unclaimed.has(row)) : r.rows
        this.buffers[r.table].push({ seq: r.seq, rows, bytes: r.bytes, at: now })
        this.replayedRows += rows.length
      }
    } else {
      this.wal = disabledWal(minNextSeq)
    }
    // Claims at seqs the log never made durable (their requests got no 2xx): a retry may land.
    await this.o.ledger?.release(this.writerId, { fromSeq: this.wal.durableSeq + 1 })
    const { flushBatchSize } = this.o.config.iceberg
    for (const table of TABLE_NAMES) {
      this.flushers[table] = new TableFlusher({
        table,
        buffer: this.buffers[table],
        writer: this.o.writer,
        writerId: this.writerId,
        durableSeq: () => this.flushableSeq(),
        maxRowsPerAppend: Math.max(flushBatchSize, 20_000),
        backoff: this.o.backoff ?? { initialMs: 250, maxMs: 5000 },
        onCommitted: (t, seq) => this.afterCommit(t, seq),
        logger: this.o.logger,
        quarantine: quarantineWriter(quarantineDir(walConfig.dir)),
      })
    }
    this.state = 'running'
    this.updateGauges()
    if (this.replayedRows > 0) {
      this.o.logger?.info({ rows: this.replayedRows, writerId: this.writerId }, 'replaying write-ahead log')
      for (const t of TABLE_NAMES) if (!this.buffers[t].isEmpty) this.flushers[t].trigger()
    }
  }

  /**
   * This replica's accepted-but-uncommitted rows of `table`, in WAL seq order, with the writer id
   * whose `floe.wal-seq.<writer-id>` table property tells which of them a loaded snapshot already
   * holds (`committedSeq`). Reporting reads them so its numbers are live (docs/reporting.md).
   */
  pending(table: TableName): PendingRows {
    return { writerId: this.writerId, entries: this.buffers[table].snapshot() }
  }

  /** Uncommitted rows across all tables. */
  get backlogRows(): number {
    return TABLE_NAMES.reduce((n, t) => n + this.buffers[t].rowCount, 0)
  }

  async accept(rows: RowsByTable, options: AcceptOptions = {}): Promise<AcceptResult> {
    if (this.state !== 'running') {
      metrics.eventsRejected.inc({ reason: 'shutting_down' }, rows.pa_events.length)
      if (this.state === 'new') throw new FloeError('buffer not started')
      throw new BackpressureError(5, 'shutting down')
    }
    const n = TABLE_NAMES.reduce((sum, t) => sum + (rows[t]?.length ?? 0), 0)
    if (n === 0) return NO_DUPLICATES
    // An empty backlog takes any request (a batch larger than the limit must not be refused forever).
    if (this.backlogRows > 0 && this.backlogRows + n > this.o.config.backlogMaxRows) {
      metrics.backpressure.set(1)
      metrics.eventsRejected.inc({ reason: 'backpressure' }, rows.pa_events.length)
      throw new BackpressureError(this.retryAfterSeconds())
    }
    const ledger = this.o.ledger
    const keyed =
      options.claim && ledger ? (rows.pa_events as Row[]).filter((r) => ledger.keyOf(r) !== undefined) : []
    // One WAL record for the whole call: its rows are durable together or not at all.
    const appended = this.wal.append(rows as unknown as Record<TableName, Row[]>, keyed.length > 0)
    // The claim runs while the record is written: the answer waits for the slower of the two.
    let claim: Promise<Set<Row>> | undefined
    if (ledger && keyed.length > 0) {
      this.unsettled.add(appended.seq)
      claim = ledger.claim(this.writerId, appended.seq, keyed)
      claim.catch(() => undefined) // handled below, after the WAL write
    }
    const at = Date.now()
    for (const table of TABLE_NAMES) {
      const tableRows = (rows[table] ?? []) as unknown as Row[]
      if (tableRows.length === 0) continue
      const bytes = appended.sizes[table] ?? tableRows.length * ESTIMATED_ROW_BYTES
      if (this.buffers[table].isEmpty) this.armTimer(table, this.intervalMs)
      this.buffers[table].push({ seq: appended.seq, rows: tableRows, bytes, at })
    }
    try {
      await appended.durable
    } catch (err) {
      // Never acknowledged, so it must not be committed either.
      for (const t of TABLE_NAMES) this.buffers[t].remove(new Set([appended.seq]))
      if (claim) await this.releaseRefused(appended.seq, claim)
      metrics.eventsRejected.inc({ reason: 'wal_error' }, rows.pa_events.length)
      this.o.logger?.error({ err }, 'write-ahead log append failed; answering 503')
      // Not kept, so not acknowledged: the client should retry (disk full is often transient).
      // Say what failed, without the path: the operator's log above has the details.
      const code = (err as NodeJS.ErrnoException | undefined)?.code
      throw new BackpressureError(
        5,
        code === 'ENOSPC' || code === 'EDQUOT'
          ? `the write-ahead log disk is full (${code})`
          : `the write-ahead log could not be written${code ? ` (${code})` : ''}`,
      )
    }
    let result = NO_DUPLICATES
    if (claim) {
      let duplicates: Set<Row>
      try {
        duplicates = await claim
      } catch (err) {
        // The claim may or may not have landed: the record stays, held back from flushing, until
        // the ledger says which of its rows it holds; the client retries (and is then told).
        this.o.logger?.error({ err }, 'idempotency ledger did not answer; answering 503')
        this.settleInBackground(appended.seq, keyed)
        metrics.eventsRejected.inc({ reason: 'ledger_error' }, rows.pa_events.length)
        throw new BackpressureError(5, 'the idempotency ledger could not be reached')
      }
      this.settled(appended.seq, duplicates)
      result = { duplicates }
    }
    for (const table of TABLE_NAMES) {
      const count = rows[table]?.length ?? 0
      if (count === 0) continue
      metrics.eventsAccepted.inc({ table }, count)
      const b = this.buffers[table]
      const { flushBatchSize, flushMaxBytes } = this.o.config.iceberg
      if (b.rowCount >= flushBatchSize || b.byteCount >= flushMaxBytes) this.flushers[table].trigger()
    }
    this.updateGauges()
    return result
  }

  /** Highest seq a flush may commit: durable, and no unsettled claim at or below it. */
  private flushableSeq(): number {
    let seq = this.wal.durableSeq
    for (const s of this.unsettled) seq = Math.min(seq, s - 1)
    return seq
  }

  /** A record's claim is known: its duplicates leave the buffer, flushing may pass it. */
  private settled(seq: number, duplicates: ReadonlySet<Row>): void {
    if (duplicates.size > 0) this.buffers.pa_events.discardRows(duplicates)
    this.unsettled.delete(seq)
  }

  /** Asks the ledger, with backoff, which of the record's keyed rows it holds (see accept). */
  private settleInBackground(seq: number, keyed: readonly Row[]): void {
    const ledger = this.o.ledger!
    let delay = 250
    const attempt = async (): Promise<void> => {
      try {
        const held = await ledger.held(this.writerId, [{ seq, rows: keyed }])
        this.settled(seq, new Set(keyed.filter((r) => !held.has(r))))
        if (!this.buffers.pa_events.isEmpty) this.armTimer('pa_events', 0)
      } catch (err) {
        if (this.state === 'closed') return
        this.o.logger?.warn({ err, seq }, 'idempotency ledger still unreachable; record held back')
        delay = Math.min(delay * 2, 5000)
        setTimeout(() => void attempt(), delay).unref()
      }
    }
    void attempt()
  }

  /** A record the WAL refused: its claims go (best effort) before the 503, so a retry can land. */
  private async releaseRefused(seq: number, claim: Promise<Set<Row>>): Promise<void> {
    this.unsettled.delete(seq)
    await claim.catch(() => undefined)
    try {
      await this.o.ledger!.release(this.writerId, { seqs: [seq] })
    } catch (err) {
      this.o.logger?.error({ err, seq }, 'could not release the idempotency claims of a refused record')
    }
  }

  /**
   * On start: the keyed rows of claimed, uncommitted records whose claim their record does not hold
   * (a duplicate, or a claim that never landed because the process died first).
   */
  private async recoverClaims(
    records: ReadonlyArray<{ seq: number; tables: { pa_events?: Row[] }; claimed?: boolean }>,
    committedEventsSeq: number,
  ): Promise<Set<Row>> {
    const ledger = this.o.ledger
    const claimed = records
      .filter((r) => r.claimed && r.seq > committedEventsSeq && r.tables.pa_events?.length)
      .map((r) => ({ seq: r.seq, rows: ledger ? r.tables.pa_events!.filter((x) => ledger.keyOf(x)) : [] }))
    if (claimed.length === 0) return new Set()
    if (!ledger) {
      this.o.logger?.warn(
        { records: claimed.length },
        'the WAL holds claimed records but idempotency is off: replaying all their rows',
      )
      return new Set()
    }
    const held = await ledger.held(this.writerId, claimed)
    const out = new Set<Row>()
    for (const r of claimed) for (const row of r.rows) if (!held.has(row)) out.add(row)
    if (out.size > 0)
      this.o.logger?.info(
        { rows: out.size },
        'replay: dropped keyed rows whose idempotency claim is not theirs',
      )
    return out
  }

  /** Commits everything accepted so far; resolves with the snapshots made per table. */
  async flush(): Promise<FlushResult> {
    if (this.state === 'new') throw new FloeError('buffer not started')
    // Every table gets its attempt even if another fails; the first failure is reported.
    const settled = await Promise.allSettled(TABLE_NAMES.map((t) => this.flushers[t].flushNow()))
    for (const s of settled) if (s.status === 'rejected') throw s.reason
    await this.truncateWal()
    this.updateGauges()
    const out = {} as FlushResult
    TABLE_NAMES.forEach((t, i) => (out[t] = (settled[i] as PromiseFulfilledResult<AppendResult[]>).value))
    return out
  }

  /**
   * Graceful drain: stop accepting, flush and commit with retries until `deadline` (ms epoch), then
   * close the WAL. Returns false if rows were left uncommitted (they stay in the WAL for next start).
   */
  async close(deadline = Date.now() + 25_000): Promise<boolean> {
    if (this.state === 'closed' || this.state === 'new') return true
    this.state = 'closing'
    const done = await drainUntil({
      flush: () => this.flush(),
      buffered: () => this.backlogRows > 0,
      deadline,
      timers: this.timers,
      flushers: this.flushers,
      logger: this.o.logger,
    })
    await this.checkpoint?.close()
    await this.wal.close()
    await this.lock?.release()
    this.state = 'closed'
    return done
  }

  walSizeBytes(): number {
    return this.wal.sizeBytes()
  }

  private retryAfterSeconds(): number {
    const ms = Math.max(...TABLE_NAMES.map((t) => this.flushers[t].retryDelayMs))
    return Math.max(1, Math.ceil(ms / 1000))
  }

  private armTimer(table: TableName, ms: number): void {
    if (this.timers[table] || this.state !== 'running') return
    const timer = setTimeout(() => {
      this.timers[table] = undefined
      this.flushers[table].trigger()
    }, ms)
    timer.unref()
    this.timers[table] = timer
  }

  /** Deletes WAL segments older than the oldest row still waiting in any table. */
  private truncateWal(): Promise<void> {
    const firsts = TABLE_NAMES.map((t) => this.buffers[t].firstSeq).filter(
      (s): s is number => s !== undefined,
    )
    return this.wal.truncate(firsts.length ? Math.min(...firsts) - 1 : this.wal.durableSeq)
  }

  private afterCommit(table: TableName, committedSeq: number): void {
    this.checkpoint?.advance(table, committedSeq)
    this.truncateWal().catch((err) => this.o.logger?.warn({ err }, 'WAL truncation failed'))
    // Rows that arrived during the flush: the interval counts from the oldest of them.
    const oldest = this.buffers[table].oldestAt
    clearTimeout(this.timers[table])
    this.timers[table] = undefined
    if (oldest !== undefined) this.armTimer(table, Math.max(0, oldest + this.intervalMs - Date.now()))
    if (this.backlogRows < this.o.config.backlogMaxRows) metrics.backpressure.set(0)
    this.updateGauges()
  }

  private updateGauges(): void {
    for (const t of TABLE_NAMES) {
      metrics.bufferedRows.set({ table: t }, this.buffers[t].rowCount)
      metrics.bufferedBytes.set({ table: t }, this.buffers[t].byteCount)
    }
    metrics.walBytes.set(this.wal.sizeBytes())
    metrics.walSegments.set(this.wal.segmentCount())
  }
}

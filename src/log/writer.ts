/**
 * The writer role (`FLOE_ROLE=writer`): consumes the partitions a replicated log assigns it, buffers
 * their rows per table with the same triggers as the single process (count, bytes, interval;
 * buffer.ts), and commits one snapshot per table per flush through the same `TableFlusher`.
 *
 * Positions live in the tables, not in the log (src/log/transport.ts):
 * - each commit sets, per partition in the batch, the table property
 *   `floe.log-position.<log>/<partition>` = the batch's highest position of that partition, and
 *   records them in the snapshot summary (`floe.log-positions`, JSON) — the property in the same
 *   atomic commit as the rows, and no engine's snapshot expiry removes it (as `floe.wal-seq.*`,
 *   recovery.ts);
 * - on assignment the writer reads both tables' properties and resumes each partition after the
 *   lower of the two; a record's rows for a table that already holds its position are skipped;
 * - every commit checks, on the table it commits on top of, that the table's position of each
 *   partition in the batch is below the batch's first position of it. Another writer that committed
 *   them first (a rebalance, a writer that lost its lease while stalled) makes the check fail: the
 *   entries the table holds are dropped and the rest committed. That check, not the lease, is what
 *   keeps every record in the table exactly once;
 * - only after a commit does the writer tell the log (`commit`) how far the tables hold each
 *   partition (for both tables: a partition's records with no rows for a table count as held).
 */
import type { Logger } from 'pino'
import { FloeError } from '../errors.ts'
import type { FloeConfig } from '../config.ts'
import { TABLE_NAMES, type Row, type TableName } from '../rows.ts'
import type { AppendResult, TableWriter } from '../write/append.ts'
import type { TableMetadata } from '../table/metadata.ts'
import { metrics } from '../observe/metrics.ts'
import { TableBuffer, type Batch } from '../buffer/table-buffer.ts'
import { TableFlusher, type CommitMarks } from '../buffer/flusher.ts'
import { drainUntil } from '../buffer/drain.ts'
import type { ConsumerHandler, LogConsumer, LogRecordIn, Positions } from './transport.ts'

export const LOG_POSITION_PREFIX = 'floe.log-position.'
export const LOG_POSITIONS_SUMMARY = 'floe.log-positions'
export const LOG_WRITER_SUMMARY = 'floe.log-writer'

export interface LogWriterOptions {
  /** Names the log in position keys (`nats`, `kafka`): `<log>/<partition>`. */
  log: string
  /** This process (for the summary; diagnosis only). */
  writerId: string
  config: Pick<FloeConfig, 'backlogMaxRows'> & {
    iceberg: Pick<FloeConfig['iceberg'], 'flushIntervalSeconds' | 'flushBatchSize' | 'flushMaxBytes'>
  }
  writer: Pick<TableWriter, 'append' | 'load' | 'ensureTables' | 'invalidRows'>
  consumer: LogConsumer
  logger?: Pick<Logger, 'warn' | 'info' | 'error'>
  backoff?: { initialMs: number; maxMs: number }
  flushIntervalMs?: number
}

/** One value per table. */
function perTable<T>(make: (table: TableName) => T): Record<TableName, T> {
  return Object.fromEntries(TABLE_NAMES.map((t) => [t, make(t)])) as Record<TableName, T>
}

/** Per partition, the position a table holds (partition name → position). */
type Held = Map<string, number>

export class LogWriter implements ConsumerHandler {
  readonly buffers = perTable(() => new TableBuffer())
  private flushers = {} as Record<TableName, TableFlusher>
  private timers: Partial<Record<TableName, NodeJS.Timeout>> = {}
  private state: 'new' | 'running' | 'closing' | 'closed' = 'new'
  private readonly intervalMs: number
  /** Local order of records (the flusher's seq): one per record, across partitions. */
  private seq = 0
  /** Per table, the positions it held when a partition was assigned (rows at or below are skipped). */
  private readonly held = perTable((): Held => new Map())
  /** Highest position received per owned partition. */
  private readonly received = new Map<string, number>()
  private committing: Promise<void> = Promise.resolve()

  constructor(private readonly o: LogWriterOptions) {
    this.intervalMs = o.flushIntervalMs ?? o.config.iceberg.flushIntervalSeconds * 1000
  }

  async start(): Promise<void> {
    await this.o.writer.ensureTables()
    const { flushBatchSize } = this.o.config.iceberg
    for (const table of TABLE_NAMES)
      this.flushers[table] = new TableFlusher({
        table,
        buffer: this.buffers[table],
        writer: this.o.writer,
        writerId: this.o.writerId,
        marks: this.marks(table),
        durableSeq: () => this.seq, // everything delivered is in the log already
        maxRowsPerAppend: Math.max(flushBatchSize, 20_000),
        backoff: this.o.backoff ?? { initialMs: 250, maxMs: 5000 },
        onCommitted: (t) => this.afterCommit(t),
        logger: this.o.logger,
      })
    this.state = 'running'
    await this.o.consumer.start(this)
  }

  private key(partition: string): string {
    return `${this.o.log}/${partition}`
  }

  /** The positions `metadata`'s properties say the table holds, per partition of this log. */
  private positionsIn(metadata: TableMetadata): Held {
    const out: Held = new Map()
    const prefix = `${LOG_POSITION_PREFIX}${this.o.log}/`
    for (const [k, v] of Object.entries(metadata.properties ?? {})) {
      if (!k.startsWith(prefix)) continue
      const n = Number(v)
      if (Number.isSafeInteger(n) && n >= 0) out.set(k.slice(prefix.length), n)
    }
    return out
  }

  private marks(table: TableName): CommitMarks {
    const lastPerPartition = (batch: Batch) => {
      const out = new Map<string, number>()
      for (const e of batch.entries) if (e.source) out.set(e.source.partition, e.source.position)
      return out
    }
    return {
      summary: (batch) => ({
        [LOG_WRITER_SUMMARY]: this.o.writerId,
        [LOG_POSITIONS_SUMMARY]: JSON.stringify(
          Object.fromEntries([...lastPerPartition(batch)].map(([p, n]) => [this.key(p), n])),
        ),
      }),
      claim: (batch) => {
        const out: Record<string, { first: number; last: number }> = {}
        for (const e of batch.entries) {
          if (!e.source) continue
          const k = this.key(e.source.partition)
          const at = e.source.position
          out[k] = { first: Math.min(out[k]?.first ?? at, at), last: Math.max(out[k]?.last ?? at, at) }
        }
        return out
      },
      properties: (batch) =>
        Object.fromEntries(
          [...lastPerPartition(batch)].map(([p, n]) => [LOG_POSITION_PREFIX + this.key(p), String(n)]),
        ),
      alreadyCommitted: (metadata, batch) => {
        const table = this.positionsIn(metadata)
        const seen = new Set<string>()
        for (const e of batch.entries) {
          if (!e.source || seen.has(e.source.partition)) continue
          seen.add(e.source.partition) // the first entry of each partition is its lowest position
          if ((table.get(e.source.partition) ?? 0) >= e.source.position) return true
        }
        return false
      },
      reconcile: (metadata) => {
        const inTable = this.positionsIn(metadata)
        for (const [p, n] of inTable) if (this.received.has(p)) this.held[table].set(p, n)
        this.buffers[table].removeWhere(
          (e) => e.source !== undefined && e.source.position <= (inTable.get(e.source.partition) ?? 0),
        )
        return this.seq
      },
    }
  }

  /** Partitions assigned: where the tables stand (the lower of the two tables per partition). */
  async assigned(partitions: string[]): Promise<Positions> {
    const perTable = {} as Record<TableName, Held>
    for (const t of TABLE_NAMES) perTable[t] = this.positionsIn((await this.o.writer.load(t)).metadata)
    const out: Positions = {}
    for (const p of partitions) {
      let low = Number.MAX_SAFE_INTEGER
      for (const t of TABLE_NAMES) {
        const n = perTable[t].get(p) ?? 0
        this.held[t].set(p, n)
        low = Math.min(low, n)
      }
      this.received.set(p, low)
      if (low > 0) out[p] = low
    }
    return out
  }

  /**
   * Partitions taken away: their rows leave the buffers uncommitted (the next owner reads them
   * again from the log). A commit already in flight may still land with some of them; it does not
   * wait for it (under load a flush loop can run on and on): the next owner's first commit of
   * those positions then fails the position check and drops what the table holds.
   */
  async revoked(partitions: string[]): Promise<void> {
    const gone = new Set(partitions)
    for (const p of partitions) this.received.delete(p)
    for (const t of TABLE_NAMES) {
      this.buffers[t].removeWhere((e) => e.source !== undefined && gone.has(e.source.partition))
      for (const p of partitions) this.held[t].delete(p)
    }
    this.updateGauges()
  }

  async records(partition: string, records: LogRecordIn[]): Promise<void> {
    // Backpressure: the consumer waits (and so reads no further) while the backlog is full.
    while (this.state === 'running' && this.backlogRows >= this.o.config.backlogMaxRows)
      await new Promise((r) => setTimeout(r, 50))
    if (this.state !== 'running' || !this.received.has(partition)) return
    const at = Date.now()
    for (const r of records) {
      const tables = JSON.parse(Buffer.from(r.value).toString('utf8')) as Partial<Record<TableName, Row[]>>
      const seq = ++this.seq
      const total = TABLE_NAMES.reduce((n, t) => n + (tables[t]?.length ?? 0), 0)
      for (const t of TABLE_NAMES) {
        const rows = tables[t]
        if (!rows || rows.length === 0 || r.position <= (this.held[t].get(partition) ?? 0)) continue
        if (this.buffers[t].isEmpty) this.armTimer(t, this.intervalMs)
        const bytes = Math.ceil((r.value.byteLength * rows.length) / total)
        this.buffers[t].push({ seq, rows, bytes, at, source: { partition, position: r.position } })
      }
      this.received.set(partition, r.position)
    }
    const { flushBatchSize, flushMaxBytes } = this.o.config.iceberg
    for (const t of TABLE_NAMES) {
      const b = this.buffers[t]
      if (b.rowCount >= flushBatchSize || b.byteCount >= flushMaxBytes) this.flushers[t].trigger()
    }
    this.updateGauges()
  }

  /** The partitions this writer owns now. */
  owned(): string[] {
    return [...this.received.keys()]
  }

  get backlogRows(): number {
    return TABLE_NAMES.reduce((n, t) => n + this.buffers[t].rowCount, 0)
  }

  /** Commits everything received so far (`POST /api/admin/flush`). */
  async flush(): Promise<Record<TableName, AppendResult[]>> {
    if (this.state === 'new') throw new FloeError('writer not started')
    const settled = await Promise.allSettled(TABLE_NAMES.map((t) => this.flushers[t].flushNow()))
    for (const s of settled) if (s.status === 'rejected') throw s.reason
    await this.committing
    return perTable((t) => {
      const s = settled[TABLE_NAMES.indexOf(t)]
      return s.status === 'fulfilled' ? s.value : []
    })
  }

  /**
   * Graceful stop: no more records taken, commit what is buffered until `deadline`, then leave the
   * log (leases released, so other writers take the partitions at once). Rows not committed by then
   * are simply read again by the next owner. Resolves true when everything buffered was committed.
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
    await this.o.consumer.close()
    this.state = 'closed'
    return done
  }

  /**
   * How far the tables hold each owned partition: below the first position either table still
   * buffers, or everything received when neither buffers any of it.
   */
  committedPositions(): Positions {
    const out: Positions = {}
    for (const [p, n] of this.received) out[p] = n
    for (const t of TABLE_NAMES)
      for (const e of this.buffers[t].snapshot()) {
        const p = e.source?.partition
        if (p !== undefined && p in out) out[p] = Math.min(out[p], e.source!.position - 1)
      }
    return out
  }

  private afterCommit(table: TableName): void {
    const oldest = this.buffers[table].oldestAt
    clearTimeout(this.timers[table])
    this.timers[table] = undefined
    if (oldest !== undefined) this.armTimer(table, Math.max(0, oldest + this.intervalMs - Date.now()))
    this.updateGauges()
    const positions = this.committedPositions()
    this.committing = this.committing
      .then(() => this.o.consumer.commit(positions))
      .catch((err: unknown) => this.o.logger?.warn({ err }, 'telling the log what is committed failed'))
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

  private updateGauges(): void {
    for (const t of TABLE_NAMES) {
      metrics.bufferedRows.set({ table: t }, this.buffers[t].rowCount)
      metrics.bufferedBytes.set({ table: t }, this.buffers[t].byteCount)
    }
  }
}

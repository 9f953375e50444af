/**
 * The receiver role's EventSink (`FLOE_ROLE=receiver`): an accepted request's rows go to the
 * replicated log, one record per site (the key, so one site's events stay in one partition, in
 * order), and `accept` resolves only once the log acknowledged every record. The collect routes
 * answer 2xx after that, so an acknowledged event is in the log, replicated where the log is.
 *
 * Idempotency (`/v1/events` with event ids): the keyed rows are claimed in the shared ledger before
 * publishing (under this receiver's id and a per-process counter); duplicates are not published. A
 * publish that fails releases its claims before the 503, so the client's retry can land.
 *
 * When the log is down or over its limits, `accept` rejects with LogUnavailableError: 503 +
 * Retry-After, nothing acknowledged.
 */
import { randomUUID } from 'node:crypto'
import type { Logger } from 'pino'
import { LogUnavailableError } from '../errors.ts'
import { TABLE_NAMES, type Row, type RowsByTable, type TableName } from '../rows.ts'
import { metrics } from '../observe/metrics.ts'
import type { AcceptOptions, AcceptResult, EventSink } from '../buffer/sink.ts'
import type { ClaimLedger } from '../buffer/ledger.ts'
import { recordPayload } from '../buffer/wal-record.ts'
import type { LogProducer, LogRecordOut } from './transport.ts'

export interface PublishSinkOptions {
  producer: LogProducer
  ledger?: ClaimLedger
  logger?: Pick<Logger, 'warn' | 'error'>
}

const NO_DUPLICATES: AcceptResult = { duplicates: new Set() }

export class PublishSink implements EventSink {
  /** Names this receiver's claims in the idempotency ledger. */
  readonly receiverId = `receiver-${randomUUID()}`
  private seq = 0

  constructor(private readonly o: PublishSinkOptions) {}

  async accept(rows: RowsByTable, options: AcceptOptions = {}): Promise<AcceptResult> {
    const ledger = this.o.ledger
    const keyed =
      options.claim && ledger ? (rows.pa_events as Row[]).filter((r) => ledger.keyOf(r) !== undefined) : []
    let result = NO_DUPLICATES
    let seq: number | undefined
    if (ledger && keyed.length > 0) {
      seq = ++this.seq
      try {
        result = { duplicates: await ledger.claim(this.receiverId, seq, keyed) }
      } catch (err) {
        // Whether the claim landed is unknown: release it (in the background) so a retry can land.
        this.release(seq)
        metrics.eventsRejected.inc({ reason: 'ledger_error' }, rows.pa_events.length)
        throw new LogUnavailableError('the idempotency ledger could not be reached', 5, err)
      }
    }
    const tables: Record<TableName, Row[]> = {
      pa_events: (rows.pa_events as Row[]).filter((r) => !result.duplicates.has(r)),
      pa_sessions: rows.pa_sessions as Row[],
      pa_rejected: (rows.pa_rejected ?? []) as Row[],
    }
    try {
      await this.o.producer.publish(recordsBySite(tables))
    } catch (err) {
      if (seq !== undefined) await this.release(seq)
      metrics.eventsRejected.inc({ reason: 'log_unavailable' }, rows.pa_events.length)
      this.o.logger?.warn({ err }, 'the log did not acknowledge a publish; answering 503')
      if (err instanceof LogUnavailableError) throw err
      throw new LogUnavailableError('the log did not acknowledge the events', 5, err)
    }
    for (const t of TABLE_NAMES)
      if (tables[t].length > 0) metrics.eventsAccepted.inc({ table: t }, tables[t].length)
    return result
  }

  private async release(seq: number): Promise<void> {
    try {
      await this.o.ledger!.release(this.receiverId, { seqs: [seq] })
    } catch (err) {
      this.o.logger?.error({ err, seq }, 'could not release the idempotency claims of a refused request')
    }
  }
}

/** One record per site: `{"pa_events":[…],"pa_sessions":[…]}` as in the WAL (wal-record.ts). */
export function recordsBySite(tables: Record<TableName, Row[]>): LogRecordOut[] {
  const bySite = new Map<string, Partial<Record<TableName, Row[]>>>()
  for (const t of TABLE_NAMES)
    for (const row of tables[t]) {
      const site = String(row.site_id)
      let entry = bySite.get(site)
      if (!entry) bySite.set(site, (entry = {}))
      ;(entry[t] ??= []).push(row)
    }
  const out: LogRecordOut[] = []
  for (const [key, rows] of bySite) out.push({ key, value: Buffer.from(recordPayload(rows).json, 'utf8') })
  return out
}

/** The writer role's sink: it receives no events (they go to receivers). */
export const writerSink: EventSink = {
  accept() {
    return Promise.reject(
      new LogUnavailableError('this Floe is a writer (FLOE_ROLE=writer): send events to a receiver', 30),
    )
  },
}

/**
 * The idempotency ledger as the buffer sees it: a shared store (Postgres, `src/idempotency/`) of
 * `(site_id, event_id)` claims, each naming the WAL record that holds the event
 * (`writer id`, `seq`). The buffer claims a record's keyed rows while the record is being made
 * durable, and only a row whose claim its own record holds is ever committed. docs/idempotency.md
 * walks through every crash point; in short:
 *
 * - claim and WAL write run concurrently; the request is answered only after both, so an
 *   acknowledged event is both durable and claimed;
 * - rows whose key another record holds are taken out of the buffer before any flush can see them
 *   (the flusher never commits past a record whose claim is unsettled);
 * - on start, replayed records keep only the rows they hold the claim for, and claims of this
 *   writer at seqs the WAL never made durable are released (a retry may then land);
 * - a record whose WAL write failed releases its claims before the 503 answer.
 */
import type { Row } from '../rows.ts'

/** A keyed row's key: the site and the client's event id. */
export interface ClaimKey {
  siteId: string
  eventId: string
}

export interface ClaimLedger {
  /** Rows of `pa_events` that carry an idempotency key (claimed when accepted with one). */
  keyOf(row: Row): ClaimKey | undefined
  /**
   * Claims `rows` for the record (writerId, seq), all in one statement. Resolves with the rows whose
   * key another record holds within the window (duplicates). Rejects when the store did not answer:
   * whether the claim landed is then unknown (`held` settles it).
   */
  claim(writerId: string, seq: number, rows: readonly Row[]): Promise<Set<Row>>
  /**
   * The rows of these records whose claim their record (writerId, seq) holds. A row whose key has
   * no claim at all is kept only when it was received longer ago than the window (its claim may
   * have been cleaned up since); otherwise its claim never landed and it was never acknowledged.
   */
  held(writerId: string, records: ReadonlyArray<{ seq: number; rows: readonly Row[] }>): Promise<Set<Row>>
  /** Forgets this writer's claims at seqs `>= fromSeq`, or at exactly `seqs`. */
  release(writerId: string, which: { fromSeq: number } | { seqs: number[] }): Promise<void>
}

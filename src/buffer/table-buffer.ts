/**
 * One table's accepted-but-uncommitted rows, in WAL seq order. Entries stay here until their
 * snapshot is committed, so a failed flush loses nothing: the next attempt takes them again.
 */
import type { Row } from '../rows.ts'

export interface BufferEntry {
  seq: number
  rows: readonly Row[]
  /** Encoded size (WAL record bytes). */
  bytes: number
  /** When it was accepted (ms since epoch), for the interval trigger. */
  at: number
  /** Where a replicated log holds the record (src/log/writer.ts); absent for the local WAL. */
  source?: { partition: string; position: number }
}

export interface Batch {
  entries: BufferEntry[]
  rows: Row[]
  bytes: number
  maxSeq: number
}

export class TableBuffer {
  private entries: BufferEntry[] = []
  rowCount = 0
  byteCount = 0

  get isEmpty(): boolean {
    return this.entries.length === 0
  }

  get oldestAt(): number | undefined {
    return this.entries[0]?.at
  }

  get firstSeq(): number | undefined {
    return this.entries[0]?.seq
  }

  /** The entries as they are now (a copy of the list), for readers of live rows (src/report/). */
  snapshot(): readonly BufferEntry[] {
    return [...this.entries]
  }

  /** Appends keep seq order because seqs are assigned synchronously in call order. */
  push(entry: BufferEntry): void {
    this.entries.push(entry)
    this.rowCount += entry.rows.length
    this.byteCount += entry.bytes
  }

  /** Removes entries whose WAL write failed (they were never acknowledged). */
  remove(seqs: ReadonlySet<number>): void {
    this.removeWhere((e) => seqs.has(e.seq))
  }

  /** Removes the entries `gone` picks (a replicated log's partition given up, or already committed). */
  removeWhere(gone: (e: BufferEntry) => boolean): void {
    const kept = this.entries.filter((e) => !gone(e))
    if (kept.length === this.entries.length) return
    this.entries = kept
    this.recount()
  }

  /**
   * Takes individual rows out of their entries (rows set aside in quarantine). Their seqs stay, so
   * the entries' other rows commit as usual and the WAL record counts as committed with them.
   */
  discardRows(rows: ReadonlySet<Row>): void {
    for (const e of this.entries) {
      if (e.rows.some((r) => rows.has(r))) e.rows = e.rows.filter((r) => !rows.has(r))
    }
    this.recount()
  }

  /**
   * The oldest entries with seq <= maxSeq, up to about maxRows rows (at least one entry). Does not
   * remove them: `drop` does that once they are committed.
   */
  take(maxSeq: number, maxRows: number): Batch {
    const entries: BufferEntry[] = []
    let rows = 0
    let bytes = 0
    for (const e of this.entries) {
      if (e.seq > maxSeq || (entries.length > 0 && rows + e.rows.length > maxRows)) break
      entries.push(e)
      rows += e.rows.length
      bytes += e.bytes
    }
    const flat: Row[] = []
    for (const e of entries) for (const r of e.rows) flat.push(r)
    return { entries, rows: flat, bytes, maxSeq: entries.length ? entries[entries.length - 1].seq : 0 }
  }

  /** Drops every entry with seq <= throughSeq (committed). */
  drop(throughSeq: number): void {
    let i = 0
    while (i < this.entries.length && this.entries[i].seq <= throughSeq) i++
    if (i === 0) return
    this.entries = this.entries.slice(i)
    this.recount()
  }

  private recount(): void {
    this.rowCount = 0
    this.byteCount = 0
    for (const e of this.entries) {
      this.rowCount += e.rows.length
      this.byteCount += e.bytes
    }
  }
}

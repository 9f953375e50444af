/**
 * Recovery: which write-ahead-log records are already in Iceberg?
 *
 * Every snapshot Floe commits carries, in its summary, the id of the writer (stable per WAL
 * directory) and the highest WAL seq of the rows it contains. A table's rows are committed in seq
 * order, one flush at a time, so "committed" for a table is exactly "seq <= the wal-seq of this
 * writer's newest snapshot in the table's history". A crash between the Iceberg commit and the WAL
 * truncation therefore never duplicates rows: replay skips what the snapshot chain already holds.
 *
 * The snapshot chain alone is not enough: Floe's own expiry or another engine's (`expire_snapshots`)
 * may remove the snapshots that carry this writer's markers while committed records still sit in
 * the WAL (a segment goes only when all its records, of both tables, are committed). So each commit
 * also sets the table property `floe.wal-seq.<writer-id>` in the same atomic commit (expiry never
 * removes properties), and updates a local
 * checkpoint, `<FLOE_WAL_DIR>/committed` (checkpoint.ts), and recovery takes the larger of the two per table. The
 * checkpoint is written after the commit (in the background, coalesced); a crash before it lands
 * leaves the just-committed snapshot in the chain, where recovery finds it.
 */
import { randomUUID } from 'node:crypto'
import { promises as fs } from 'node:fs'
import path from 'node:path'
import type { Row, TableName } from '../rows.ts'
import { fsyncDir } from '../storage/local.ts'
import { TABLE_NAMES } from '../rows.ts'
import type { Snapshot, TableMetadata } from '../table/metadata.ts'
import type { TableWriter } from '../write/append.ts'
import type { WalRecord } from './wal-record.ts'

export const WRITER_ID_KEY = 'floe.writer-id'
export const WAL_SEQ_KEY = 'floe.wal-seq'

export type Positions = Record<TableName, number>

/** The writer id for a WAL directory, created (durably) on first use. */
export async function ensureWriterId(walDir: string): Promise<string> {
  await fs.mkdir(walDir, { recursive: true })
  const file = path.join(walDir, 'writer-id')
  try {
    const id = (await fs.readFile(file, 'utf8')).trim()
    if (id) return id
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err
  }
  const id = randomUUID()
  const tmp = `${file}.${process.pid}.tmp`
  const h = await fs.open(tmp, 'w')
  try {
    await h.writeFile(id + '\n')
    await h.sync()
  } finally {
    await h.close()
  }
  await fs.rename(tmp, file)
  // The id names this log in snapshot summaries: its directory entry must survive a power loss too.
  await fsyncDir(walDir)
  return id
}

/** Snapshots of the current branch, newest first. */
export function* ancestors(metadata: TableMetadata): Generator<Snapshot> {
  const byId = new Map<bigint, Snapshot>()
  for (const s of metadata.snapshots ?? []) byId.set(BigInt(s['snapshot-id']), s)
  const current = metadata.refs?.main?.['snapshot-id'] ?? metadata['current-snapshot-id']
  let id: bigint | undefined = current === undefined || current === null ? undefined : BigInt(current)
  const seen = new Set<bigint>()
  while (id !== undefined && id >= 0n && !seen.has(id)) {
    seen.add(id)
    const s = byId.get(id)
    if (!s) return
    yield s
    const parent = s['parent-snapshot-id']
    id = parent === undefined || parent === null ? undefined : BigInt(parent)
  }
}

/**
 * Table property holding the highest WAL seq of `writerId` the table contains. It is set in the
 * same commit as the snapshot (`set-properties` beside `add-snapshot`), so it is exactly as durable
 * as the rows, and no engine's snapshot expiry removes it (expiry removes snapshots, not properties).
 */
export function walSeqProperty(writerId: string): string {
  return `${WAL_SEQ_KEY}.${writerId}`
}

/** The properties a commit of rows up to `walSeq` sets. */
export function propertiesFor(writerId: string, walSeq: number): Record<string, string> {
  return { [walSeqProperty(writerId)]: String(walSeq) }
}

/**
 * Highest WAL seq of `writerId` that the table contains (0 if none): the larger of the table
 * property (survives expiry) and the newest summary marker on the main branch (tables written
 * before the property existed).
 */
export function committedSeq(metadata: TableMetadata, writerId: string): number {
  const prop = Number(metadata.properties?.[walSeqProperty(writerId)])
  let best = Number.isSafeInteger(prop) && prop >= 0 ? prop : 0
  for (const s of ancestors(metadata)) {
    if (s.summary?.[WRITER_ID_KEY] !== writerId) continue
    const seq = Number(s.summary[WAL_SEQ_KEY])
    if (Number.isSafeInteger(seq) && seq >= 0) best = Math.max(best, seq)
    break
  }
  return best
}

export async function committedPositions(
  writer: Pick<TableWriter, 'load'>,
  writerId: string,
): Promise<Positions> {
  const out = {} as Positions
  for (const t of TABLE_NAMES) out[t] = committedSeq((await writer.load(t)).metadata, writerId)
  return out
}

/** Per table, the larger of two positions. */
export function laterPositions(a: Positions, b: Positions): Positions {
  return Object.fromEntries(TABLE_NAMES.map((t) => [t, Math.max(a[t], b[t])])) as Positions
}

export interface ReplayEntry {
  seq: number
  table: TableName
  rows: Row[]
  bytes: number
}

/** Per table, the rows of records not yet in that table, in seq order. */
export function recordsToReplay(records: readonly WalRecord[], committed: Positions): ReplayEntry[] {
  const out: ReplayEntry[] = []
  for (const r of records)
    for (const t of TABLE_NAMES) {
      const rows = r.tables[t]
      if (rows && rows.length > 0 && r.seq > committed[t])
        out.push({ seq: r.seq, table: t, rows, bytes: r.bytes })
    }
  return out
}

export function summaryFor(writerId: string, walSeq: number): Record<string, string> {
  return { [WRITER_ID_KEY]: writerId, [WAL_SEQ_KEY]: String(walSeq) }
}

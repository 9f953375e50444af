/**
 * A writer's append when a commit coordinator commits for it (FLOE_LOG_COMMIT_COORDINATOR): stage
 * the data files (the staging half of TableWriter), hand them to the coordinator as a commit
 * request (commit-requests.ts) and wait for its outcome. To the TableFlusher it is an append like
 * any other, so buffering, triggers, retries and reconciling stay exactly the single-writer path:
 * - committed: the rows are in the table; the flusher drops them and the log is told (only now);
 * - held or rejected: the table holds some or all of the request's positions. The table is loaded
 *   and `alreadyCommitted` asked, which answers yes, so AlreadyCommittedError: the flusher drops
 *   the rows the table holds and takes the rest again, i.e. stages them again in a new request;
 * - no decision within `waitMs` (no coordinator reachable): the request is withdrawn and the append
 *   fails; the flusher keeps the rows and retries with backoff.
 * The files of a request that did not land are left to orphan removal (maintenance/orphans.ts):
 * deleting them at once would be wrong in the one case where a request judged `held` is held
 * because it landed itself.
 */
import type { Logger } from 'pino'
import { AlreadyCommittedError, FloeError } from '../errors.ts'
import type { Row, TableName } from '../rows.ts'
import type { AppendOptions, AppendResult, TableWriter } from '../write/append.ts'
import { DECIDED_CHANNEL, type CommitRequests, type Decision } from './commit-requests.ts'

/** A commit request the coordinator did not decide in time; the flusher retries. */
export class CommitRequestTimeoutError extends FloeError {
  override name = 'CommitRequestTimeoutError'
}

export interface CoordinatedAppendOptions {
  writer: Pick<TableWriter, 'stage' | 'load' | 'append' | 'ensureTables' | 'invalidRows'>
  requests: CommitRequests
  /** This process (the request's `writer`, diagnosis only). */
  writerId: string
  /** How often a waiting writer polls its request besides the notifications (default 1 s: a NOTIFY wakes it sooner). */
  pollMs?: number
  /** Give up waiting after this long (the coordinator is elected within the lease TTL). */
  waitMs?: number
  logger?: Pick<Logger, 'warn'>
}

export type CoordinatedWriter = Pick<TableWriter, 'append' | 'load' | 'ensureTables' | 'invalidRows'> & {
  start(): Promise<void>
  close(): void
}

export function coordinatedWriter(o: CoordinatedAppendOptions): CoordinatedWriter {
  const pollMs = o.pollMs ?? 1000
  const waitMs = o.waitMs ?? 120_000
  // Writers waiting on a decision: a notification (or a reconnect) wakes them all to look again.
  const waiters = new Set<() => void>()
  const wakeAll = () => {
    for (const w of waiters) w()
  }

  async function waitFor(id: string): Promise<Decision | undefined> {
    const end = Date.now() + waitMs
    for (;;) {
      const d = await o.requests.decision(id)
      if (d === undefined || d.state !== 'pending') return d
      if (Date.now() > end) {
        if (await o.requests.withdraw(id)) return undefined
        continue // decided meanwhile
      }
      await new Promise<void>((resolve) => {
        const done = () => {
          clearTimeout(timer)
          waiters.delete(done)
          resolve()
        }
        const timer = setTimeout(done, pollMs)
        waiters.add(done)
      })
    }
  }

  async function append(table: TableName, rows: Row[], options: AppendOptions = {}): Promise<AppendResult> {
    if (rows.length === 0 || !options.claim) return o.writer.append(table, rows, options)
    const before = await o.writer.load(table)
    if (options.alreadyCommitted?.(before.metadata))
      throw new AlreadyCommittedError(`${table}: the table already holds rows of this append`)
    const staged = await o.writer.stage(table, rows)
    const id = await o.requests.submit({
      table,
      writer: o.writerId,
      files: staged.files,
      records: staged.records,
      positions: options.claim,
    })
    const decision = await waitFor(id)
    if (decision === undefined)
      throw new CommitRequestTimeoutError(
        `${table}: no commit coordinator decided the request within ${waitMs} ms`,
      )
    await o.requests.forget(id)
    if (decision.state === 'committed')
      return {
        table,
        snapshotId: decision.snapshotId!,
        metadataLocation: decision.metadataLocation ?? '',
        dataFiles: staged.files.length,
        records: staged.records,
        attempts: 1, // the coordinator counts its own conflicts
        snapshotCount: decision.snapshotCount ?? 0,
      }
    const after = await o.writer.load(table)
    if (options.alreadyCommitted?.(after.metadata))
      throw new AlreadyCommittedError(
        `${table}: the coordinator found rows of this request in the table (${decision.state})`,
      )
    // Rejected without the table holding any of it (the files' partition spec is gone): stage again.
    throw new FloeError(
      `${table}: the commit coordinator rejected the request (${decision.state}); staging again`,
    )
  }

  return {
    append,
    load: (t) => o.writer.load(t),
    ensureTables: () => o.writer.ensureTables(),
    invalidRows: (t, rows) => o.writer.invalidRows(t, rows),
    start: () => o.requests.listen(DECIDED_CHANNEL, wakeAll),
    close: wakeAll,
  }
}

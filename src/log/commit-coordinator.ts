/**
 * The commit coordinator: one process per table, across all writers, commits the data files the
 * writers staged (src/log/coordinated-append.ts), many writers' flushes in one append snapshot, so
 * commits to a table no longer grow with the number of writers and neither do their conflicts (as
 * Kafka Connect's Iceberg sink elects a coordinator; docs/decisions.md).
 *
 * Election: the lease of `maintenance/lease.ts` (one lease mechanism), keyed
 * `commit-coordinator/<namespace>.<table>`. Every writer process runs this loop; on each tick it
 * asks whether the table has pending requests and, if so (or while it leads), takes or renews the
 * lease. The holder keeps renewing every tick; when it dies its lease runs out and the next writer
 * that sees pending requests takes over, within the lease TTL (FLOE_LOG_LEASE_SECONDS).
 *
 * A round: the pending requests (oldest first), judged against the table's positions
 * (commit-round.ts), those accepted committed as ONE append (their files; table properties
 * `floe.log-position.*` = the highest position per partition; summary `floe.log-positions`), then
 * recorded as committed. The commit re-checks on every reload that the table holds none of the
 * accepted positions, so two coordinators (one stalled past its lease) never land the same rows:
 * the table's positions, not the lease, keep every record in the table exactly once.
 */
import type { Logger } from 'pino'
import { AlreadyCommittedError, StaleSpecError } from '../errors.ts'
import type { TableName } from '../rows.ts'
import type { TableWriter } from '../write/append.ts'
import type { TableMetadata } from '../table/metadata.ts'
import type { MaintenanceLeases } from '../maintenance/lease.ts'
import { metrics } from '../observe/metrics.ts'
import { SUBMITTED_CHANNEL, type CommitRequests } from './commit-requests.ts'
import { planRound, standing } from './commit-round.ts'
import { LOG_POSITION_PREFIX, LOG_POSITIONS_SUMMARY, LOG_WRITER_SUMMARY } from './writer.ts'

/** Summary property: how many writers' requests a coordinator commit joined. */
export const COMMIT_REQUESTS_SUMMARY = 'floe.commit-requests'

export interface CoordinatorOptions {
  tables: readonly TableName[]
  /** The tables' namespace, dotted (part of the lease key). */
  namespace: string
  requests: CommitRequests
  leases: Pick<MaintenanceLeases, 'tryAcquire' | 'stillHeld' | 'release'>
  writer: Pick<TableWriter, 'load' | 'commitFiles'>
  /** This process (lease owner, summary `floe.log-writer`). */
  id: string
  /** At most one round per table per interval (FLOE_LOG_COMMIT_INTERVAL_MS). */
  intervalMs: number
  /** The lease TTL; the holder renews it several times within. */
  leaseMs: number
  /** Requests joined in one commit at most (the rest wait for the next round). */
  maxRequestsPerCommit?: number
  /** Decided requests no writer collected are deleted after this long. */
  sweepAfterMs?: number
  logger?: Pick<Logger, 'warn' | 'info' | 'error'>
}

/** Per partition key, the position the table holds (`floe.log-position.<key>` properties). */
export function positionsOf(metadata: TableMetadata): Map<string, number> {
  const out = new Map<string, number>()
  for (const [k, v] of Object.entries(metadata.properties ?? {})) {
    if (!k.startsWith(LOG_POSITION_PREFIX)) continue
    const n = Number(v)
    if (Number.isSafeInteger(n) && n >= 0) out.set(k.slice(LOG_POSITION_PREFIX.length), n)
  }
  return out
}

export class CommitCoordinator {
  private readonly leading = new Set<TableName>()
  private readonly lastRound = new Map<TableName, number>()
  private readonly timers = new Map<TableName, NodeJS.Timeout>()
  private readonly chains = new Map<TableName, Promise<void>>()
  private heartbeat: NodeJS.Timeout | undefined
  private lastSweep = 0
  private closed = false

  constructor(private readonly o: CoordinatorOptions) {}

  async start(): Promise<void> {
    await this.o.requests.listen(SUBMITTED_CHANNEL, (table) => {
      for (const t of this.o.tables) if (table === undefined || table === t) this.wake(t)
    })
    // Ticks renew a held lease well within its TTL and pick up requests a lost NOTIFY left behind.
    const tickMs = Math.max(100, Math.min(this.o.intervalMs, Math.floor(this.o.leaseMs / 3)))
    this.heartbeat = setInterval(() => {
      for (const t of this.o.tables) this.wake(t)
    }, tickMs)
    this.heartbeat.unref()
    for (const t of this.o.tables) this.wake(t)
  }

  /** The tables this process coordinates now. */
  leads(): TableName[] {
    return [...this.leading]
  }

  private leaseKey(table: TableName): string {
    return `commit-coordinator/${this.o.namespace}.${table}`
  }

  /** Runs a tick of `table` as soon as the commit interval allows (once, however often woken). */
  private wake(table: TableName): void {
    if (this.closed || this.timers.has(table)) return
    const wait = Math.max(0, (this.lastRound.get(table) ?? 0) + this.o.intervalMs - Date.now())
    const timer = setTimeout(() => {
      this.timers.delete(table)
      const prev = this.chains.get(table) ?? Promise.resolve()
      this.chains.set(
        table,
        prev
          .then(() => this.tick(table))
          .catch((err: unknown) =>
            this.o.logger?.warn({ err, table }, 'commit coordinator round failed; retrying'),
          ),
      )
    }, wait)
    timer.unref()
    this.timers.set(table, timer)
  }

  private async tick(table: TableName): Promise<void> {
    if (this.closed) return
    const pending = await this.o.requests.anyPending(table)
    if (!pending && !this.leading.has(table)) return
    if (!(await this.o.leases.tryAcquire(this.leaseKey(table)))) {
      if (this.leading.delete(table)) this.o.logger?.info({ table }, 'no longer the commit coordinator')
      metrics.coordinatorLeader.set({ table }, 0)
      return
    }
    if (!this.leading.has(table))
      this.o.logger?.info({ table, id: this.o.id }, 'commit coordinator of the table')
    this.leading.add(table)
    metrics.coordinatorLeader.set({ table }, 1)
    if (Date.now() - this.lastSweep > 60_000) {
      this.lastSweep = Date.now()
      await this.o.requests.sweep(this.o.sweepAfterMs ?? 10 * 60_000)
    }
    if (!pending) return
    this.lastRound.set(table, Date.now())
    await this.round(table)
  }

  /** One round: judge the pending requests, commit the accepted ones as one snapshot. */
  async round(table: TableName): Promise<void> {
    const requests = await this.o.requests.pending(table, this.o.maxRequestsPerCommit ?? 200)
    if (requests.length === 0) return
    const loaded = await this.o.writer.load(table)
    const plan = planRound(positionsOf(loaded.metadata), requests)
    const ids = (rs: typeof requests) => rs.map((r) => r.id)
    if (plan.held.length > 0) {
      await this.o.requests.decide(table, ids(plan.held), { state: 'held' })
      metrics.coordinatorRequestsDropped.inc({ table, outcome: 'held' }, plan.held.length)
    }
    if (plan.rejected.length > 0) {
      await this.o.requests.decide(table, ids(plan.rejected), { state: 'rejected' })
      metrics.coordinatorRequestsDropped.inc({ table, outcome: 'rejected' }, plan.rejected.length)
      this.o.logger?.warn(
        { table, requests: plan.rejected.length },
        'commit requests partly held by the table: rejected',
      )
    }
    if (plan.accepted.length === 0) return
    // Not required for correctness (the position check is), but a process that lost the lease
    // leaves the work to the one that has it.
    if (!(await this.o.leases.stillHeld(this.leaseKey(table)))) return
    let result
    try {
      result = await this.o.writer.commitFiles(
        table,
        plan.accepted.flatMap((r) => r.files),
        {
          summary: {
            [LOG_WRITER_SUMMARY]: this.o.id,
            [LOG_POSITIONS_SUMMARY]: JSON.stringify(plan.positions),
            [COMMIT_REQUESTS_SUMMARY]: String(plan.accepted.length),
          },
          properties: Object.fromEntries(
            Object.entries(plan.positions).map(([key, n]) => [LOG_POSITION_PREFIX + key, String(n)]),
          ),
          // Another coordinator (this one's lease ran out while it stalled) may have committed some
          // of them since the load above: then nothing lands and the next round judges again.
          alreadyCommitted: (metadata) => {
            const held = positionsOf(metadata)
            return plan.accepted.some((r) => standing(r.positions, held) !== 'new')
          },
        },
      )
    } catch (err) {
      if (err instanceof AlreadyCommittedError) return
      if (err instanceof StaleSpecError) {
        // Staged for a partition spec the table no longer has: the writers stage them again.
        await this.o.requests.decide(table, ids(plan.accepted), { state: 'rejected' })
        metrics.coordinatorRequestsDropped.inc({ table, outcome: 'rejected' }, plan.accepted.length)
        return
      }
      throw err
    }
    await this.o.requests.decide(table, ids(plan.accepted), {
      state: 'committed',
      snapshotId: result.snapshotId,
      metadataLocation: result.metadataLocation,
      snapshotCount: result.snapshotCount,
    })
    metrics.coordinatorCommits.inc({ table })
    metrics.coordinatorRequestsPerCommit.observe({ table }, plan.accepted.length)
    // floe_commits_total stays the writers' count (each request that landed); this one is the snapshots.
    if (result.attempts > 1) metrics.commitConflicts.inc({ table }, result.attempts - 1)
  }

  /** Stops coordinating (after the writer's last flush) and gives the leases up at once. */
  async close(): Promise<void> {
    this.closed = true
    clearInterval(this.heartbeat)
    for (const t of this.timers.values()) clearTimeout(t)
    this.timers.clear()
    await Promise.all(this.chains.values())
    for (const t of this.leading) {
      metrics.coordinatorLeader.set({ table: t }, 0)
      await this.o.leases.release(this.leaseKey(t)).catch(() => undefined)
    }
    this.leading.clear()
  }
}

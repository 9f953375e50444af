/**
 * Who runs maintenance, and when: every replica may, one at a time per table (the lease in
 * `lease.ts`), on a schedule (`FLOE_MAINTENANCE_INTERVAL_SECONDS`) and on demand
 * (`POST /api/admin/maintenance`). Parts run in order per table: retention (per-site, when any
 * site has a setting), snapshot expiry, compaction, orphan removal; each can be switched off.
 * Retention runs first so that compaction never rewrites rows that are about to be removed. A part that fails or loses a race
 * (MaintenanceConflictError: another replica, Spark or Trino changed the same files) is reported
 * and counted, and the next part and the next schedule go on: nothing is retried in a loop.
 */
import { hostname } from 'node:os'
import { randomUUID } from 'node:crypto'
import type { Catalog, TableIdentifier } from '../table/catalog.ts'
import type { FileIO } from '../storage/file-io.ts'
import type { SqlClient } from '../storage/sql.ts'
import type { MaintenanceConfig } from '../config.ts'
import type { TableName } from '../rows.ts'
import { TABLE_NAMES } from '../rows.ts'
import type { TableDefinition } from '../table/metadata.ts'
import { MaintenanceConflictError, NoSuchTableError } from '../errors.ts'
import { metrics } from '../observe/metrics.ts'
import { MaintenanceLeases } from './lease.ts'
import { compactTable } from './compact.ts'
import { removeOrphans } from './orphans.ts'
import { expireSnapshots } from './expire.ts'
import { applyRetention, type RetentionPolicy } from './retention.ts'

export type PartName = 'retention' | 'expire' | 'compaction' | 'orphans'

export const PART_NAMES: readonly PartName[] = ['retention', 'expire', 'compaction', 'orphans']

/** What one part reports (numbers for the admin answer and the metrics). */
export type PartReport = Record<string, string | number | boolean | string[] | undefined>

export interface PartContext {
  table: TableName
  id: TableIdentifier
  /** False once this replica's lease on the table is gone: stop before committing or deleting. */
  stillOwner: () => Promise<boolean>
  /** Report what would be done, change nothing (only retention supports it). */
  dryRun: boolean
}

/** A maintenance part (tests plug their own in through `extraParts`, which replace a built-in of the same name). */
export interface MaintenancePart {
  name: PartName
  run(ctx: PartContext): Promise<PartReport>
}

export interface PartOutcome {
  outcome: 'ok' | 'conflict' | 'failed'
  ms: number
  report?: PartReport
  error?: string
}

export interface TableReport {
  /** Why the table was not maintained by this call, if so. */
  skipped?: string
  parts: Partial<Record<PartName, PartOutcome>>
}

export interface MaintenanceReport {
  startedAt: string
  tables: Partial<Record<TableName, TableReport>>
}

export interface RunnerOptions {
  catalog: Catalog
  io: FileIO
  sql: Pick<SqlClient, 'query' | 'transaction' | 'dialect'>
  namespace: string[]
  definitions: Record<TableName, TableDefinition>
  config: MaintenanceConfig
  /** Parts run first, replacing a built-in part of the same name (tests). */
  extraParts?: MaintenancePart[]
  /**
   * The sites' retention settings (the site store, read at each run); absent = no retention. The
   * runner imports no site code: maintenance only uses the table side.
   */
  retention?: () => Promise<RetentionPolicy>
  /** Lease owner id; default host + pid + random. */
  owner?: string
  log?: { info(obj: object, msg: string): void; warn(obj: object, msg: string): void }
}

export interface RunRequest {
  tables?: readonly TableName[]
  parts?: readonly PartName[]
  /** Plan and report only (retention); nothing is committed or deleted. */
  dryRun?: boolean
}

export class MaintenanceRunner {
  readonly leases: MaintenanceLeases
  readonly #opts: RunnerOptions
  /** Tables being maintained by this process (the lease is per replica, this is per call). */
  readonly #busy = new Set<TableName>()
  #timer: NodeJS.Timeout | undefined
  /** Expiry runs started by afterAppend, per table (at most one each). */
  readonly #triggered = new Map<TableName, Promise<void>>()
  #stopped = false
  #running: Promise<unknown> | undefined

  constructor(opts: RunnerOptions) {
    this.#opts = opts
    const owner = opts.owner ?? `${hostname()}/${process.pid}/${randomUUID().slice(0, 8)}`
    this.leases = new MaintenanceLeases(opts.sql, owner, opts.config.leaseSeconds * 1000)
  }

  /** The parts enabled by config, in run order. */
  parts(): MaintenancePart[] {
    const { config, io, catalog, definitions } = this.#opts
    const parts: MaintenancePart[] = [...(this.#opts.extraParts ?? [])]
    const retention = this.#opts.retention
    if (config.retention.enabled && retention && !parts.some((p) => p.name === 'retention'))
      parts.push({
        name: 'retention',
        run: async (ctx) => {
          const r = await applyRetention({
            io,
            catalog,
            id: ctx.id,
            definition: definitions[ctx.table],
            policy: await retention(),
            dryRun: ctx.dryRun,
            batchRows: config.compaction.batchRows,
            spillDir: config.compaction.spillDir,
            stillOwner: ctx.stillOwner,
          })
          if (!r.dryRun && r.snapshotId !== undefined) {
            metrics.retentionFilesDeleted.inc({ table: ctx.table }, r.filesDeleted)
            metrics.retentionRecordsDeleted.inc({ table: ctx.table }, r.recordsDeleted)
            metrics.retentionBytesDeleted.inc({ table: ctx.table }, r.bytesDeleted)
            metrics.retentionFilesRewritten.inc({ table: ctx.table }, r.filesRewritten)
          }
          return {
            dryRun: r.dryRun,
            skipped: r.skipped,
            filesDeleted: r.filesDeleted,
            recordsDeleted: r.recordsDeleted,
            bytesDeleted: r.bytesDeleted,
            filesRewritten: r.filesRewritten,
            filesWritten: r.filesWritten,
            filesLeft: r.filesLeft,
            partitions: r.partitions.map((p) => `${p.site_id}/${p.day}: ${p.files} files, ${p.records} rows`),
            snapshotId: r.snapshotId,
            attempts: r.attempts,
          }
        },
      })
    if (config.expire.enabled && !parts.some((p) => p.name === 'expire'))
      parts.push({
        name: 'expire',
        run: async (ctx) => {
          if (!(await ctx.stillOwner()))
            throw new MaintenanceConflictError('snapshot expiry: the maintenance lease was lost')
          const r = await expireSnapshots({ catalog, io, id: ctx.id })
          const deleted = r.filesDeleted.manifestLists + r.filesDeleted.manifests + r.filesDeleted.dataFiles
          metrics.maintenanceSnapshotsExpired.inc({ table: ctx.table }, r.snapshotsExpired)
          metrics.maintenanceFilesDeleted.inc({ table: ctx.table, part: 'expire' }, deleted)
          return {
            snapshotsExpired: r.snapshotsExpired,
            refsRemoved: r.refsRemoved,
            manifestListsDeleted: r.filesDeleted.manifestLists,
            manifestsDeleted: r.filesDeleted.manifests,
            dataFilesDeleted: r.filesDeleted.dataFiles,
            deleteFailures: r.failures.length,
            attempts: r.attempts,
          }
        },
      })
    if (config.compaction.enabled)
      parts.push({
        name: 'compaction',
        run: async (ctx) => {
          const r = await compactTable({
            io,
            catalog,
            id: ctx.id,
            definition: definitions[ctx.table],
            quietMs: config.compaction.quietMinutes * 60_000,
            batchRows: config.compaction.batchRows,
            spillDir: config.compaction.spillDir,
            stillOwner: ctx.stillOwner,
          })
          metrics.maintenanceFilesRewritten.inc({ table: ctx.table }, r.filesRewritten)
          metrics.maintenanceFilesWritten.inc({ table: ctx.table }, r.filesWritten)
          return { ...r }
        },
      })
    if (config.orphans.enabled)
      parts.push({
        name: 'orphans',
        run: async (ctx) => {
          const load = async () => {
            const t = await catalog.loadTable(ctx.id)
            if (!t) throw new NoSuchTableError(`table ${ctx.table} does not exist`)
            return t
          }
          // Decide first (dry run), then check the lease, then delete.
          const planned = await removeOrphans({
            io,
            load,
            olderThanMs: config.orphans.ageSeconds * 1000,
            dryRun: true,
          })
          if (planned.deleted.length > 0 && !(await ctx.stillOwner()))
            throw new MaintenanceConflictError('orphan removal: the maintenance lease was lost')
          for (const uri of planned.deleted) await io.delete(uri)
          metrics.maintenanceFilesDeleted.inc({ table: ctx.table, part: 'orphans' }, planned.deleted.length)
          return {
            listed: planned.listed,
            referenced: planned.referenced,
            deleted: planned.deleted.length,
            tooYoung: planned.tooYoung,
          }
        },
      })
    return parts
  }

  /** Runs maintenance now on the requested tables and parts (default: all enabled). */
  async run(req: RunRequest = {}): Promise<MaintenanceReport> {
    const report: MaintenanceReport = { startedAt: new Date().toISOString(), tables: {} }
    // A dry run runs only the parts that can plan without acting (retention).
    const wanted = req.dryRun ? (req.parts ?? ['retention']) : req.parts
    const parts = this.parts().filter((p) => wanted === undefined || wanted.includes(p.name))
    for (const table of req.tables ?? TABLE_NAMES)
      report.tables[table] = await this.#runTable(table, parts, req.dryRun === true)
    return report
  }

  async #runTable(table: TableName, parts: MaintenancePart[], dryRun: boolean): Promise<TableReport> {
    const { catalog, namespace } = this.#opts
    const id = { namespace, name: table }
    if (this.#busy.has(table)) return { skipped: 'already running in this process', parts: {} }
    this.#busy.add(table)
    try {
      const loaded = await catalog.loadTable(id)
      if (!loaded) return { skipped: 'table does not exist', parts: {} }
      const key = `table:${loaded.metadata['table-uuid']}`
      if (!(await this.leases.tryAcquire(key))) {
        metrics.maintenanceLeaseBusy.inc({ table })
        const holder = await this.leases.holder(key)
        return {
          skipped: `another replica holds the maintenance lease (${holder ?? 'just released'})`,
          parts: {},
        }
      }
      const renewEvery = Math.max(1000, (this.#opts.config.leaseSeconds * 1000) / 3)
      const renewal = setInterval(() => void this.leases.renew(key).catch(() => undefined), renewEvery)
      renewal.unref()
      const out: TableReport = { parts: {} }
      try {
        for (const part of parts) {
          const t0 = performance.now()
          const ctx: PartContext = { table, id, dryRun, stillOwner: () => this.leases.stillHeld(key) }
          let outcome: PartOutcome
          try {
            const r = await part.run(ctx)
            outcome = { outcome: 'ok', ms: 0, report: r }
          } catch (err) {
            const conflict = err instanceof MaintenanceConflictError
            outcome = { outcome: conflict ? 'conflict' : 'failed', ms: 0, error: (err as Error).message }
            this.#opts.log?.warn({ err, table, part: part.name }, 'maintenance part did not complete')
          }
          const ms = performance.now() - t0
          outcome.ms = Math.round(ms)
          metrics.maintenanceRuns.inc({ table, part: part.name, outcome: outcome.outcome })
          metrics.maintenanceDuration.observe({ table, part: part.name }, ms / 1000)
          out.parts[part.name] = outcome
        }
      } finally {
        clearInterval(renewal)
        await this.leases.release(key).catch(() => undefined)
      }
      return out
    } finally {
      this.#busy.delete(table)
    }
  }

  /**
   * Called after each append this process committed. A busy table commits several times a second
   * (the 1000-event trigger at 10k events/s), so an hourly schedule alone would let its history
   * grow to tens of thousands of snapshots between runs, and every commit rewrites all of them.
   * Once a table holds twice its `floe.history.max-snapshots`, expiry runs now (in the
   * background, under the same lease), bringing it back to the bound: the per-commit cost stays
   * flat whatever the commit rate. The factor 2 keeps expiry to one run per `max-snapshots`
   * commits.
   */
  afterAppend(result: { table: TableName; snapshotCount: number; maxSnapshots?: number }): void {
    if (!this.#opts.config.expire.enabled || result.maxSnapshots === undefined) return
    if (result.snapshotCount < 2 * result.maxSnapshots) return
    if (this.#busy.has(result.table) || this.#triggered.has(result.table) || this.#stopped) return
    const run = this.run({ tables: [result.table], parts: ['expire'] })
      .then((r) => this.#opts.log?.info({ maintenance: r }, 'expiry after a busy period done'))
      .catch((err: unknown) => this.#opts.log?.warn({ err }, 'expiry after a busy period failed'))
      .finally(() => this.#triggered.delete(result.table))
    this.#triggered.set(result.table, run)
  }

  /** Runs every `intervalSeconds` (first run after one interval, with jitter so replicas spread). */
  start(): void {
    const s = this.#opts.config.intervalSeconds
    if (s <= 0 || this.#timer) return
    const schedule = () => {
      const delay = s * 1000 * (0.9 + Math.random() * 0.2)
      this.#timer = setTimeout(() => {
        this.#running = this.run()
          .then((r) => this.#opts.log?.info({ maintenance: r }, 'scheduled maintenance done'))
          .catch((err: unknown) => this.#opts.log?.warn({ err }, 'scheduled maintenance failed'))
          .finally(() => {
            this.#running = undefined
            if (this.#timer) schedule()
          })
      }, delay)
      this.#timer.unref()
    }
    schedule()
  }

  /** Stops the schedule; waits for a run in progress up to `deadline` (ms epoch). */
  async stop(deadline = Date.now() + 5000): Promise<void> {
    if (this.#timer) clearTimeout(this.#timer)
    this.#timer = undefined
    this.#stopped = true
    const running = [this.#running, ...this.#triggered.values()].filter((p) => p !== undefined)
    if (running.length > 0)
      await Promise.race([
        Promise.all(running),
        new Promise((r) => setTimeout(r, Math.max(0, deadline - Date.now())).unref()),
      ])
  }
}

/**
 * Loads generated traffic (`report-events.ts`) into Floe's tables **through Floe's own writer** and
 * into Umami's schema on Postgres, the same rows on both sides; then compacts `pa_events` as the
 * maintenance schedule leaves it once the days are quiet. Shared by the reporting correctness test
 * and bench/reporting.ts.
 *
 * Each day is written as `flushesPerDay` appends (time slices of the day, every site in each), the
 * way the flusher lands a day's traffic: several small files per (day, site) partition, which
 * compaction (`src/maintenance/compact.ts`, the planner's defaults, nothing is "recent") then
 * rewrites into one sorted file per partition.
 */
import type { Catalog } from '../../src/table/catalog.ts'
import type { FileIO } from '../../src/storage/file-io.ts'
import type { TableWriter } from '../../src/write/append.ts'
import { loadTableDefinitions } from '../../src/write/table-definition.ts'
import { compactTable, type CompactResult } from '../../src/maintenance/compact.ts'
import type { EventRow } from '../../src/rows.ts'
import { generateDays, type TrafficOptions } from './report-events.ts'
import type { UmamiPostgres } from './umami-postgres.ts'

export interface FixtureTarget {
  writer: TableWriter
  catalog: Catalog
  io: FileIO
  namespace: string[]
  /** Umami's tables on Postgres; omitted = Floe only. */
  umami?: UmamiPostgres
}

export interface FixtureReport {
  events: number
  sessions: number
  /** Events per site id. */
  perSite: Map<string, number>
  appends: number
  writeMs: number
  /** Wall time of the Postgres inserts (they overlap Floe's writes). */
  umamiLoadMs: number
  umamiIndexMs: number
  compactMs: number
  compaction: CompactResult
}

export async function loadTraffic(
  target: FixtureTarget,
  traffic: TrafficOptions,
  options: {
    flushesPerDay?: number
    batchRows?: number
    /**
     * The compaction planner's min-input-files (the table default, 5, when omitted): a run that
     * lands each day in fewer flushes than that passes its flush count, so every day ends
     * compacted as it would after five or more flushes.
     */
    minInputFiles?: number
    onDay?: (day: number, events: number) => void
  } = {},
): Promise<FixtureReport> {
  const flushes = options.flushesPerDay ?? 5
  const { writer, umami } = target
  await writer.ensureTables()
  if (umami) await umami.createSchema()
  const perSite = new Map<string, number>()
  let events = 0
  let sessions = 0
  let appends = 0
  let writeMs = 0
  let umamiLoadMs = 0
  for (const day of generateDays(traffic)) {
    for (const e of day.events) perSite.set(e.site_id, (perSite.get(e.site_id) ?? 0) + 1)
    events += day.events.length
    sessions += day.sessions.length
    // Postgres loads the day while this process writes it to Floe (two processes, two cores).
    const u0 = performance.now()
    const umamiDone = umami
      ?.insert(day.events, day.sessions)
      .then(() => (umamiLoadMs += performance.now() - u0))
    const t0 = performance.now()
    const dayStart = day.day * 86_400_000_000
    const slices: EventRow[][] = Array.from({ length: flushes }, () => [])
    for (const e of day.events) {
      const i = Math.min(flushes - 1, Math.floor(((e.event_time - dayStart) / 86_400_000_000) * flushes))
      slices[i].push(e)
    }
    for (const slice of slices) {
      if (slice.length === 0) continue
      await writer.append('pa_events', slice)
      appends++
    }
    if (day.sessions.length > 0) await writer.append('pa_sessions', day.sessions)
    writeMs += performance.now() - t0
    await umamiDone
    options.onDay?.(day.day, day.events.length)
  }
  let t0 = performance.now()
  if (umami) await umami.createIndexes()
  const umamiIndexMs = performance.now() - t0
  t0 = performance.now()
  const compaction = await compactTable({
    io: target.io,
    catalog: target.catalog,
    id: { namespace: target.namespace, name: 'pa_events' },
    definition: loadTableDefinitions().pa_events,
    quietMs: 0,
    batchRows: options.batchRows ?? 50_000,
    ...(options.minInputFiles !== undefined ? { plan: { minInputFiles: options.minInputFiles } } : {}),
  })
  const compactMs = performance.now() - t0
  return { events, sessions, perSite, appends, writeMs, umamiLoadMs, umamiIndexMs, compactMs, compaction }
}

/**
 * The `pa_rejected` rows a replay selects, read from the table's current snapshot (`src/scan/`):
 * files are pruned by their partition (site, day of `received_at`) before any is read, then rows
 * are filtered by site, time range, reason and ids.
 */
import type { FileIO } from '../storage/file-io.ts'
import type { Catalog, TableIdentifier } from '../table/catalog.ts'
import type { TableDefinition } from '../table/metadata.ts'
import type { RejectedReason, RejectedRow } from '../rows.ts'
import { snapshotContents } from '../scan/snapshot.ts'
import { rowGroups } from '../maintenance/read-rows.ts'
import { dayFromMicros } from '../write/partition.ts'

export interface ReplaySelection {
  siteId?: string
  /** received_at range, ms since the epoch, inclusive `from`, exclusive `to`. */
  fromMs?: number
  toMs?: number
  reasons?: readonly RejectedReason[]
  ids?: readonly string[]
}

export async function readRejected(
  io: FileIO,
  catalog: Catalog,
  id: TableIdentifier,
  definition: TableDefinition,
  sel: ReplaySelection,
): Promise<RejectedRow[]> {
  const loaded = await catalog.loadTable(id)
  if (!loaded) return []
  const contents = await snapshotContents(io, loaded.metadata)
  const fromDay = sel.fromMs === undefined ? -Infinity : dayFromMicros(sel.fromMs * 1000)
  const toDay = sel.toMs === undefined ? Infinity : dayFromMicros(sel.toMs * 1000)
  const ids = sel.ids ? new Set(sel.ids) : undefined
  const out: RejectedRow[] = []
  for (const f of contents.dataFiles) {
    // Partition pruning: Floe's spec holds received_at_day and site_id.
    const site = f.partition.site_id
    const day = f.partition.received_at_day
    if (sel.siteId !== undefined && typeof site === 'string' && site !== sel.siteId) continue
    if (typeof day === 'number' && (day < fromDay || day > toDay)) continue
    for await (const rows of rowGroups(await io.read(f.path), definition.schema))
      for (const r of rows as RejectedRow[]) {
        if (sel.siteId !== undefined && r.site_id !== sel.siteId) continue
        if (sel.fromMs !== undefined && r.received_at < sel.fromMs * 1000) continue
        if (sel.toMs !== undefined && r.received_at >= sel.toMs * 1000) continue
        if (sel.reasons && !sel.reasons.includes(r.reason)) continue
        if (ids && !ids.has(r.rejected_id)) continue
        out.push(r)
      }
  }
  return out.sort((a, b) => a.received_at - b.received_at || (a.rejected_id < b.rejected_id ? -1 : 1))
}

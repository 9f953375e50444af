/**
 * Per-site retention of one table (docs/retention.md): rows whose day (UTC, of the table's
 * partition time column: `pa_events.event_time`, `pa_sessions.created_at`,
 * `pa_rejected.received_at`) is more than the site's retention days before today are removed.
 *
 * By partition, metadata-only where it can be:
 * - a live data file whose rows all expire (its partition, or else its column bounds, shows one
 *   site and days before that site's cut-off) is removed whole: the commit is a `delete` snapshot
 *   (Java `DeleteFiles`) whose manifests list the file as DELETED; no data file is read or written;
 * - a file that may hold both expired and kept rows (a `pa_sessions` day holds every site; files
 *   of other engines without usable bounds) is read, and rewritten without its expired rows only
 *   when it holds some: the commit is then an `overwrite` (Java `OverwriteFiles`);
 * - files whose rows are all kept are not touched.
 *
 * The commit is compaction's (`commitReplace`: the commit core's retry loop, each attempt built on
 * the then-current snapshot by `buildReplace`): appends racing it land on both sides; a concurrent
 * rewrite or delete of the same files is a MaintenanceConflictError and the next run plans again. The removed
 * files stay referenced by older snapshots until snapshot expiry deletes them (docs/retention.md:
 * when the bytes are gone). A dry run plans (and reads straddling files to count their expired
 * rows) but writes and commits nothing.
 */
import { randomUUID } from 'node:crypto'
import path from 'node:path'
import { tmpdir } from 'node:os'
import type { Catalog, TableIdentifier } from '../table/catalog.ts'
import type { FileIO } from '../storage/file-io.ts'
import type { IcebergField, PartitionSpec, TableDefinition } from '../table/metadata.ts'
import { currentSchema, defaultSpec } from '../table/metadata.ts'
import type { Row } from '../rows.ts'
import { bindSpec, dayFromMicros, dayToHuman } from '../write/partition.ts'
import type { DataFile } from '../write/manifest.ts'
import { newSnapshotId } from '../write/snapshot.ts'
import { NoSuchTableError } from '../errors.ts'
import { snapshotContents, type LiveFile } from '../scan/snapshot.ts'
import { rowGroups } from './read-rows.ts'
import { rewriteGroup, sameSchema } from './rewrite.ts'
import { partitionKey } from './plan.ts'
import { commitReplace, deleteAll } from './replace.ts'

const DAY_MS = 86_400_000

/** How long each site keeps its rows: days, 0 = forever. */
export interface RetentionPolicy {
  daysFor(siteId: string): number
  /** Every site with its own setting, plus whether sites without one expire (default > 0). */
  sites: ReadonlyMap<string, number>
  defaultDays: number
}

export interface RetentionOptions {
  io: FileIO
  catalog: Catalog
  id: TableIdentifier
  definition: TableDefinition
  policy: RetentionPolicy
  dryRun?: boolean
  /** Rows per output row group when a straddling file is rewritten. */
  batchRows: number
  spillDir?: string
  stillOwner?: () => Promise<boolean>
  nowMs?: number
  sleep?: (ms: number) => Promise<void>
}

/** One expired partition (site and day) removed whole. */
export interface ExpiredPartition {
  site_id: string
  /** `yyyy-MM-dd` (UTC); `first..last` for a file of another engine spanning several days. */
  day: string
  files: number
  records: number
}

export interface RetentionResult {
  dryRun: boolean
  skipped?: string
  /** Partitions (site, day) whose files were removed whole. */
  partitions: ExpiredPartition[]
  filesDeleted: number
  /** Rows removed: in whole files plus those dropped from rewritten files. */
  recordsDeleted: number
  bytesDeleted: number
  /** Files rewritten without their expired rows (straddling the cut-off). */
  filesRewritten: number
  filesWritten: number
  /** Files that would need a rewrite but cannot be (another spec or schema): left as they are. */
  filesLeft: number
  snapshotId?: string
  attempts: number
}

/** Which columns a table's retention reads: its site id and the source of its `day` partition. */
interface Columns {
  site: IcebergField
  time: IcebergField
}

function columnsOf(def: TableDefinition): Columns {
  const dayField = def['partition-spec'].fields.find((f) => f.transform === 'day')
  const time = def.schema.fields.find((f) => f.id === dayField?.['source-id'])
  const site = def.schema.fields.find((f) => f.name === 'site_id')
  if (!time || !site) throw new Error(`table ${def.name}: retention needs a day partition and site_id`)
  return { site, time }
}

/** What a file's partition or bounds tell: the site when it holds one only, and its day range. */
interface FileSpan {
  site: string | undefined
  /** Lowest and highest day; undefined = unknown. */
  minDay: number | undefined
  maxDay: number | undefined
}

function bound(file: LiveFile, which: 'lower_bounds' | 'upper_bounds', fieldId: number): Buffer | undefined {
  const list = file.entry.data_file[which]
  const hit = list?.find((b) => b.key === fieldId)
  return hit ? Buffer.from(hit.value) : undefined
}

function spanOf(file: LiveFile, spec: PartitionSpec | undefined, cols: Columns): FileSpan {
  let site: string | undefined
  let minDay: number | undefined
  let maxDay: number | undefined
  for (const pf of spec?.fields ?? []) {
    const v = file.partition[pf.name]
    if (pf['source-id'] === cols.site.id && pf.transform === 'identity' && typeof v === 'string') site = v
    if (
      pf['source-id'] === cols.time.id &&
      pf.transform === 'day' &&
      (typeof v === 'number' || typeof v === 'bigint')
    )
      minDay = maxDay = Number(v)
  }
  if (site === undefined) {
    const lo = bound(file, 'lower_bounds', cols.site.id)?.toString('utf8')
    const hi = bound(file, 'upper_bounds', cols.site.id)?.toString('utf8')
    // Upper bounds may be truncated (then they differ from the lower one): several sites, maybe.
    if (lo !== undefined && lo === hi) site = lo
  }
  if (minDay === undefined) {
    const lo = bound(file, 'lower_bounds', cols.time.id)
    const hi = bound(file, 'upper_bounds', cols.time.id)
    if (lo?.length === 8 && hi?.length === 8) {
      minDay = dayFromMicros(lo.readBigInt64LE(0))
      maxDay = dayFromMicros(hi.readBigInt64LE(0))
    }
  }
  return { site, minDay, maxDay }
}

export async function applyRetention(opts: RetentionOptions): Promise<RetentionResult> {
  const { io, catalog, id, definition, policy } = opts
  const dryRun = opts.dryRun === true
  const result: RetentionResult = {
    dryRun,
    partitions: [],
    filesDeleted: 0,
    recordsDeleted: 0,
    bytesDeleted: 0,
    filesRewritten: 0,
    filesWritten: 0,
    filesLeft: 0,
    attempts: 0,
  }
  const anyRetention = policy.defaultDays > 0 || [...policy.sites.values()].some((d) => d > 0)
  if (!anyRetention) return { ...result, skipped: 'no site has a retention setting' }
  const base = await catalog.loadTable(id)
  if (!base) throw new NoSuchTableError(`table ${[...id.namespace, id.name].join('.')} does not exist`)
  const start = base.metadata
  const cols = columnsOf(definition)
  const today = Math.floor((opts.nowMs ?? Date.now()) / DAY_MS)
  /** First kept day of a site; -Infinity = keeps everything. */
  const cutoff = (site: string): number => {
    const days = policy.daysFor(site)
    return days > 0 ? today - days : -Infinity
  }
  /** The latest cut-off any site may have: a file with no day before it has nothing to remove. */
  const latestCutoff = Math.max(
    policy.defaultDays > 0 ? today - policy.defaultDays : -Infinity,
    ...[...policy.sites.values()].map((d) => (d > 0 ? today - d : -Infinity)),
  )
  const expired = (row: Row): boolean => {
    const t = row[cols.time.name]
    if (typeof t !== 'number' && typeof t !== 'bigint') return false
    return dayFromMicros(t) < cutoff(String(row[cols.site.name]))
  }

  const contents = await snapshotContents(io, start)
  const specs = new Map(start['partition-specs'].map((s) => [s['spec-id'], s]))
  const whole = new Map<string, LiveFile>()
  const straddling: LiveFile[] = []
  const byPartition = new Map<string, ExpiredPartition>()
  for (const f of contents.dataFiles) {
    const span = spanOf(f, specs.get(f.specId), cols)
    if (span.minDay !== undefined && span.minDay >= latestCutoff) continue
    if (span.site !== undefined && span.maxDay !== undefined) {
      const c = cutoff(span.site)
      if (span.maxDay < c) {
        whole.set(f.path, f)
        // A file of Floe's specs holds one day; one known only by its bounds may span several.
        const lo = span.minDay ?? span.maxDay
        const day = lo === span.maxDay ? dayToHuman(lo) : `${dayToHuman(lo)}..${dayToHuman(span.maxDay)}`
        const key = `${span.site}|${day}`
        let p = byPartition.get(key)
        if (!p) byPartition.set(key, (p = { site_id: span.site, day, files: 0, records: 0 }))
        p.files++
        p.records += Number(f.records)
        continue
      }
      if (span.minDay !== undefined && span.minDay >= c) continue
    }
    straddling.push(f)
  }

  // Straddling files are read to count their expired rows: most hold none (or all).
  const spec = defaultSpec(start)
  const canRewrite = sameSchema(definition, start)
  const rewrite: { file: LiveFile; drop: number }[] = []
  for (const f of straddling) {
    let drop = 0
    for await (const rows of rowGroups(await io.read(f.path), definition.schema))
      for (const r of rows) if (expired(r)) drop++
    if (drop === 0) continue
    if (drop === Number(f.records)) {
      whole.set(f.path, f)
      continue
    }
    if (!canRewrite || f.specId !== spec['spec-id']) {
      result.filesLeft++
      continue
    }
    rewrite.push({ file: f, drop })
  }
  result.partitions = [...byPartition.values()].sort((a, b) =>
    a.site_id === b.site_id ? (a.day < b.day ? -1 : 1) : a.site_id < b.site_id ? -1 : 1,
  )
  for (const f of whole.values()) {
    result.filesDeleted++
    result.recordsDeleted += Number(f.records)
    result.bytesDeleted += Number(f.sizeBytes)
  }
  for (const r of rewrite) result.recordsDeleted += r.drop
  result.filesRewritten = rewrite.length
  if (dryRun || (whole.size === 0 && rewrite.length === 0)) return result

  const commitId = randomUUID()
  const snapshotId = newSnapshotId()
  const schema = currentSchema(start)
  const fields = bindSpec(spec, schema)
  const removed = new Map(whole)
  const added: DataFile[] = []
  const written: string[] = []
  const dataDir = (start.properties?.['write.data.path'] ?? `${start.location}/data`).replace(/\/+$/, '')
  try {
    for (const [i, { file }] of rewrite.entries()) {
      const out = await rewriteGroup({
        io,
        schema: definition.schema,
        spec,
        fields,
        // Kept in the order the file has (no sort key): the file only loses rows.
        sortOrder: { 'order-id': 0, fields: [] },
        properties: start.properties ?? {},
        dataDir,
        commitId,
        groupIndex: i,
        group: {
          partitionKey: partitionKey(file.specId, file.partition),
          specId: file.specId,
          partition: file.partition,
          files: [file],
          inputBytes: Number(file.sizeBytes),
          records: Number(file.records),
          outputFiles: 1,
        },
        batchRows: opts.batchRows,
        spillDir: opts.spillDir ?? path.join(tmpdir(), 'floe-retention-spill'),
        keep: (row) => !expired(row),
      })
      written.push(...out.written)
      added.push(...out.files)
      removed.set(file.path, file)
      result.filesWritten += out.files.length
    }
  } catch (err) {
    await deleteAll(io, written)
    throw err
  }

  result.attempts = await commitReplace({
    io,
    catalog,
    id,
    base,
    label: 'retention',
    operation: added.length > 0 ? 'overwrite' : 'delete',
    snapshotId,
    commitId,
    schema,
    spec,
    fields,
    removed,
    // One manifest for the rewritten files (none when files are only removed whole).
    addedGroups: added.length > 0 ? [added] : [],
    written,
    stillOwner: opts.stillOwner,
    sleep: opts.sleep,
  })
  result.snapshotId = snapshotId.toString()
  return result
}

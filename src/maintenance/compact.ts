/**
 * Compaction of one table (Spark's `rewrite_data_files`, bin-pack, sorted): plan the file groups
 * of quiet partitions (`plan.ts`), rewrite each with bounded memory (`rewrite.ts`), and commit one
 * `replace` snapshot for all of them (`replace.ts`).
 *
 * Concurrency and crashes:
 * - the new data files and their manifest are written once; each commit attempt rebuilds only the
 *   rewritten manifests and the manifest list on the then-current snapshot, so concurrent appends
 *   land on both sides of the race;
 * - a concurrent rewrite or delete of the same files makes the commit give up
 *   (MaintenanceConflictError) and delete only what it wrote, which nothing references;
 * - compaction itself never deletes a data file: the replaced files stay referenced by the older
 *   snapshots until snapshot expiry removes them. A crash (SIGKILL) at any point leaves either the
 *   old snapshot (plus unreferenced new files, which orphan removal deletes after its window) or
 *   the new one; rows are never lost or doubled.
 */
import { randomUUID } from 'node:crypto'
import { tmpdir } from 'node:os'
import path from 'node:path'
import type { Catalog, TableIdentifier } from '../table/catalog.ts'
import type { FileIO } from '../storage/file-io.ts'
import type { SortOrder, TableDefinition, TableMetadata } from '../table/metadata.ts'
import { currentSchema, defaultSpec } from '../table/metadata.ts'
import { bindSpec } from '../write/partition.ts'
import type { DataFile } from '../write/manifest.ts'
import { newSnapshotId } from '../write/snapshot.ts'
import { NoSuchTableError } from '../errors.ts'
import { planGroups, planOptions, type PlanOptions } from './plan.ts'
import { rewriteGroup, sameSchema } from './rewrite.ts'
import { removeStaleSpills } from './external-sort.ts'
import { commitReplace, deleteAll } from './replace.ts'
import { clusterByPartition, clusterLimit } from '../write/manifest-cluster.ts'
import { mergePolicy } from '../write/manifest-merge.ts'
import { snapshotContents, type LiveFile } from '../scan/snapshot.ts'

export interface CompactOptions {
  io: FileIO
  catalog: Catalog
  id: TableIdentifier
  /** Floe's definition of the table: compaction writes files with it. */
  definition: TableDefinition
  /** Partitions whose newest file is younger than this are left alone. */
  quietMs: number
  /** Rows per sort batch and output row group (the memory bound). */
  batchRows: number
  /**
   * Local folder for the sort's spill files when a group holds more than `batchRows` rows
   * (`FLOE_MAINTENANCE_COMPACT_SPILL_DIR`; default: a folder in the OS temp dir).
   */
  spillDir?: string
  /** Overrides of the planner's options (tests; operators use the table properties). */
  plan?: Partial<PlanOptions>
  /** Checked right before each commit attempt: false = the maintenance lease was lost, stop. */
  stillOwner?: () => Promise<boolean>
  /** Called after the new files are written and before the commit (crash tests hook in here). */
  beforeCommit?: () => Promise<void>
  sleep?: (ms: number) => Promise<void>
  nowMs?: number
}

export interface CompactResult {
  /** Why nothing was planned, if so. */
  skipped?: string
  groups: number
  filesRewritten: number
  filesWritten: number
  records: number
  bytesRewritten: number
  snapshotId?: string
  attempts: number
}

function sortOrderOf(metadata: TableMetadata, def: TableDefinition): SortOrder {
  const declared = metadata['sort-orders'].find((o) => o['order-id'] === metadata['default-sort-order-id'])
  return declared && declared.fields.length > 0 ? declared : def['sort-order']
}

export async function compactTable(opts: CompactOptions): Promise<CompactResult> {
  const { io, catalog, id } = opts
  const empty = (skipped?: string): CompactResult => ({
    skipped,
    groups: 0,
    filesRewritten: 0,
    filesWritten: 0,
    records: 0,
    bytesRewritten: 0,
    attempts: 0,
  })
  let base = await catalog.loadTable(id)
  if (!base) throw new NoSuchTableError(`table ${[...id.namespace, id.name].join('.')} does not exist`)
  const start = base.metadata
  if (!sameSchema(opts.definition, start))
    return empty("the table's schema is not Floe's (evolved by another engine)")
  const contents = await snapshotContents(io, start)
  if (contents.liveDeleteFiles > 0) return empty('the table has delete files')
  const spec = defaultSpec(start)
  const schema = currentSchema(start)
  const fields = bindSpec(spec, schema)
  const options = planOptions(start.properties ?? {}, { ...opts.plan, quietMs: opts.quietMs })
  const committedAt = new Map(start.snapshots.map((s) => [s['snapshot-id'], Number(s['timestamp-ms'])]))
  const groups = planGroups(contents.dataFiles, spec['spec-id'], options, opts.nowMs ?? Date.now(), (sid) =>
    committedAt.get(sid),
  )
  if (groups.length === 0) return empty()

  const commitId = randomUUID()
  const snapshotId = newSnapshotId()
  const spillDir = opts.spillDir ?? path.join(tmpdir(), 'floe-compaction-spill')
  await removeStaleSpills(spillDir)
  const dataDir = (start.properties?.['write.data.path'] ?? `${start.location}/data`).replace(/\/+$/, '')
  const sortOrder = sortOrderOf(start, opts.definition)
  const written: string[] = []
  const removed = new Map<string, LiveFile>()
  const added: DataFile[] = []
  try {
    for (const [i, group] of groups.entries()) {
      const out = await rewriteGroup({
        io,
        schema: opts.definition.schema,
        spec,
        fields,
        sortOrder,
        properties: start.properties ?? {},
        dataDir,
        commitId,
        groupIndex: i,
        group,
        batchRows: opts.batchRows,
        spillDir,
      })
      written.push(...out.written)
      added.push(...out.files)
      for (const f of group.files) removed.set(f.path, f)
    }
  } catch (err) {
    await deleteAll(io, written)
    throw err
  }
  // The new files' manifests clustered by partition (day, then site), so readers prune them by
  // their partition summaries (one manifest for every rewritten day and site could not be skipped).
  const clusters = clusterByPartition(
    added,
    (f) => f.partition,
    clusterLimit(mergePolicy(start.properties).minCountToMerge),
  )

  const result = (attempts: number): CompactResult => ({
    groups: groups.length,
    filesRewritten: removed.size,
    filesWritten: added.length,
    records: groups.reduce((s, g) => s + g.records, 0),
    bytesRewritten: groups.reduce((s, g) => s + g.inputBytes, 0),
    snapshotId: snapshotId.toString(),
    attempts,
  })
  const attempts = await commitReplace({
    io,
    catalog,
    id,
    base,
    label: 'compaction',
    snapshotId,
    commitId,
    schema,
    spec,
    fields,
    removed,
    addedGroups: clusters,
    written,
    beforeCommit: opts.beforeCommit,
    stillOwner: opts.stillOwner,
    sleep: opts.sleep,
  })
  return result(attempts)
}

/**
 * The `replace` snapshot compaction commits (Iceberg Java `BaseRewriteFiles` on
 * `MergingSnapshotProducer`), built on whatever snapshot is current when the commit is attempted:
 *
 * - **Validation** (Java `failMissingDeletePaths` + `validateNoNewDeletesForDataFiles`): every file
 *   being replaced must still be live in the base, and the base must have no delete files. If not,
 *   a concurrent rewrite/delete (another Floe replica, Spark, Trino) got there first:
 *   MaintenanceConflictError. Appends never conflict: their manifests are carried over unchanged.
 * - **Manifests**: every manifest of the base that lists a replaced file is rewritten with those
 *   entries DELETED (snapshot id = this snapshot) and its other live entries EXISTING, both with
 *   explicit sequence numbers; previously DELETED entries are dropped. The rewritten manifest keeps
 *   the original file's Avro schema and header, so other engines' fields survive. Manifests without
 *   a replaced file are carried over as they are.
 * - **Sequence numbers**: the new files are ADDED entries with null sequence numbers, so they take
 *   the replace snapshot's sequence number (as `BaseRewriteFiles` does unless a data sequence
 *   number is set). Floe's tables have no delete files (the validation refuses them), so no delete
 *   could newly apply to the rewritten rows.
 * - **Summary**: `operation: replace` with Java's added/deleted counters and totals.
 */
import type { FileIO } from '../storage/file-io.ts'
import type { Catalog, LoadedTable, TableIdentifier } from '../table/catalog.ts'
import type { IcebergSchema, PartitionSpec, Snapshot, TableMetadata } from '../table/metadata.ts'
import { currentSnapshot } from '../table/metadata.ts'
import { writeAvroFile } from '../write/avro.ts'
import {
  addedManifestFile,
  parseManifestList,
  writeManifestList,
  type ManifestFile,
} from '../write/manifest-list.ts'
import { writeManifest, type DataFile } from '../write/manifest.ts'
import type { BoundPartitionField } from '../write/partition.ts'
import { findSnapshotByCommitId } from '../write/snapshot.ts'
import { metadataDir } from '../table/metadata-file.ts'
import { addSnapshotUpdates, commitWithRetry, mainBranchRequirements } from '../table/index.ts'
import { CommitRetriesExhaustedError, MaintenanceConflictError } from '../errors.ts'
import {
  DELETED,
  EXISTING,
  readManifest,
  resolveEntry,
  type EntryRecord,
  type LiveFile,
} from '../scan/snapshot.ts'

/** A manifest of added files the replace lists (the files it holds, for its counts and summaries). */
export interface AddedManifest {
  path: string
  length: number
  specId: number
  fields: readonly BoundPartitionField[]
  files: readonly DataFile[]
}

export interface ReplaceArgs {
  snapshotId: bigint
  commitId: string
  /** Files being replaced, by path, as planned (sizes and records for the summary). */
  removed: ReadonlyMap<string, LiveFile>
  added: readonly DataFile[]
  /** The manifests of the added files, clustered by partition (written once, reused on every attempt). */
  addedManifests: readonly AddedManifest[]
  attempt: number
  /**
   * The snapshot's operation: `replace` (compaction, Java `RewriteFiles`), `delete` (retention
   * removing whole files, Java `DeleteFiles`) or `overwrite` (retention removing files and adding
   * their rewritten remainder, Java `OverwriteFiles`). Default `replace`.
   */
  operation?: 'replace' | 'delete' | 'overwrite'
  /** Who commits, for error messages (default `compaction`). */
  label?: string
  extraSummary: Record<string, string>
  nowMs?: bigint
}

export interface ReplaceAttempt {
  /** The replace snapshot, built on the base's current snapshot. */
  snapshot: Snapshot
  /** Files this attempt wrote (manifest list, rewritten manifests): unreferenced if it loses. */
  written: string[]
}

/** A partition tuple as a comparable key (bigints included). */
const partitionKeyOf = (values: readonly unknown[]) =>
  JSON.stringify(values, (_k, v: unknown) => (typeof v === 'bigint' ? `${v}n` : v))

const sum = (xs: Iterable<bigint>) => [...xs].reduce((s, x) => s + x, 0n)

/** Java `SnapshotSummary` for a replace: per-commit counters (when > 0) and the parent's totals moved. */
export function replaceSummary(
  parent: Snapshot | undefined,
  removed: readonly LiveFile[],
  added: readonly DataFile[],
  changedPartitions: number,
  extra: Record<string, string>,
  operation: 'replace' | 'delete' | 'overwrite' = 'replace',
): Record<string, string> {
  const addedRecords = sum(added.map((f) => f.recordCount))
  const deletedRecords = sum(removed.map((f) => f.records))
  const addedSize = sum(added.map((f) => f.fileSizeInBytes))
  const removedSize = sum(removed.map((f) => f.sizeBytes))
  const summary: Record<string, string> = { ...extra, operation }
  const counters: [string, bigint][] = [
    ['added-data-files', BigInt(added.length)],
    ['deleted-data-files', BigInt(removed.length)],
    ['added-records', addedRecords],
    ['deleted-records', deletedRecords],
    ['added-files-size', addedSize],
    ['removed-files-size', removedSize],
    ['changed-partition-count', BigInt(changedPartitions)],
  ]
  for (const [k, v] of counters) if (v > 0n) summary[k] = v.toString()
  const totals: [string, bigint][] = [
    ['total-records', addedRecords - deletedRecords],
    ['total-files-size', addedSize - removedSize],
    ['total-data-files', BigInt(added.length - removed.length)],
    ['total-delete-files', 0n],
    ['total-position-deletes', 0n],
    ['total-equality-deletes', 0n],
  ]
  for (const [k, delta] of totals) {
    const prev = parent?.summary?.[k]
    if (prev === undefined || !/^\d+$/.test(prev)) continue
    summary[k] = (BigInt(prev) + delta).toString()
  }
  return summary
}

/**
 * Validate against `base` and build the replace snapshot on its current snapshot. Writes the
 * rewritten manifests and the manifest list; the caller commits the snapshot through the catalog.
 */
export async function buildReplace(
  io: FileIO,
  base: LoadedTable,
  args: ReplaceArgs,
): Promise<ReplaceAttempt> {
  const meta = base.metadata
  const label = args.label ?? 'compaction'
  const parent = currentSnapshot(meta)
  if (!parent) throw new MaintenanceConflictError(`${label}: the table has no snapshot any more`)
  const seq = meta['last-sequence-number'] + 1n
  const dir = metadataDir(meta)
  const written: string[] = []
  const listed = parseManifestList(await io.read(parent['manifest-list']))
  const found = new Set<string>()
  const manifests: ManifestFile[] = []
  let k = 0
  try {
    for (const m of listed) {
      if (m.content !== 0) {
        if (m.added_files_count + m.existing_files_count > 0)
          throw new MaintenanceConflictError(
            `${label}: the table now has delete files; leaving it to the engine that wrote them`,
          )
        manifests.push(m)
        continue
      }
      // A manifest without live files cannot hold a replaced file.
      if (m.added_files_count + m.existing_files_count === 0) {
        manifests.push(m)
        continue
      }
      const read = await readManifest(io, m)
      const hits = read.entries.some((e) => e.status !== DELETED && args.removed.has(e.data_file.file_path))
      if (!hits) {
        manifests.push(m)
        continue
      }
      const entries: EntryRecord[] = []
      let existing = 0
      let deleted = 0
      let existingRows = 0n
      let deletedRows = 0n
      let minSeq: bigint | undefined
      for (const raw of read.entries) {
        if (raw.status === DELETED) continue
        const e = resolveEntry(m, raw)
        const rows = BigInt(e.data_file.record_count)
        if (args.removed.has(e.data_file.file_path)) {
          found.add(e.data_file.file_path)
          entries.push({ ...e, status: DELETED, snapshot_id: args.snapshotId })
          deleted++
          deletedRows += rows
        } else {
          entries.push({ ...e, status: EXISTING })
          existing++
          existingRows += rows
          if (minSeq === undefined || e.sequence_number! < minSeq) minSeq = e.sequence_number!
        }
      }
      const bytes = writeAvroFile(read.schema as object, entries, read.metadata)
      const path = `${dir}/${args.commitId}-a${args.attempt}-m${++k}.avro`
      await io.write(path, bytes)
      written.push(path)
      manifests.push({
        ...m,
        manifest_path: path,
        manifest_length: BigInt(bytes.byteLength),
        sequence_number: seq,
        min_sequence_number: minSeq ?? seq,
        added_snapshot_id: args.snapshotId,
        added_files_count: 0,
        existing_files_count: existing,
        deleted_files_count: deleted,
        added_rows_count: 0n,
        existing_rows_count: existingRows,
        deleted_rows_count: deletedRows,
      })
    }
    const missing = [...args.removed.keys()].filter((p) => !found.has(p))
    if (missing.length > 0)
      throw new MaintenanceConflictError(
        `${label}: ${missing.length} of the files it rewrote are no longer in the table (rewritten or deleted concurrently), e.g. ${missing[0]}`,
      )
    const added = args.addedManifests.map((a) =>
      addedManifestFile({
        path: a.path,
        length: a.length,
        specId: a.specId,
        snapshotId: args.snapshotId,
        fields: a.fields,
        files: a.files,
        sequenceNumber: seq,
      }),
    )
    const listPath = `${dir}/snap-${args.snapshotId}-${args.attempt}-${args.commitId}.avro`
    await io.write(
      listPath,
      writeManifestList({
        snapshotId: args.snapshotId,
        parentSnapshotId: parent['snapshot-id'],
        sequenceNumber: seq,
        manifests: [...added, ...manifests],
      }),
    )
    written.push(listPath)
    const removed = [...args.removed.values()]
    const partitions = new Set([
      ...args.added.map((f) => partitionKeyOf(f.partition)),
      ...(args.operation === undefined || args.operation === 'replace'
        ? []
        : removed.map((f) => partitionKeyOf(Object.values(f.partition)))),
    ])
    const nowMs = args.nowMs ?? BigInt(Date.now())
    const snapshot: Snapshot = {
      'sequence-number': seq,
      'snapshot-id': args.snapshotId,
      'parent-snapshot-id': parent['snapshot-id'],
      'timestamp-ms': nowMs > meta['last-updated-ms'] ? nowMs : meta['last-updated-ms'] + 1n,
      summary: replaceSummary(
        parent,
        removed,
        args.added,
        partitions.size,
        args.extraSummary,
        args.operation,
      ),
      'manifest-list': listPath,
      'schema-id': meta['current-schema-id'],
    }
    return { snapshot, written }
  } catch (err) {
    await deleteAll(io, written)
    throw err
  }
}

/** Best-effort removal of files nothing references (a failed or lost maintenance run's output). */
export async function deleteAll(io: FileIO, uris: readonly string[]): Promise<void> {
  await Promise.allSettled(uris.map((u) => io.delete(u)))
}

/**
 * Writes the manifests of a replace's added files, one per group, once before the commit loop:
 * every attempt lists the same ones (`buildReplace` rebuilds only the rewritten manifests and the
 * list). Each URI is pushed to `written` as soon as it is written, for the cleanup.
 */
async function writeAddedManifests(
  io: FileIO,
  opts: CommitReplaceOptions,
  written: string[],
): Promise<AddedManifest[]> {
  const { schema, spec, fields, snapshotId, commitId } = opts
  const out: AddedManifest[] = []
  for (const [i, files] of opts.addedGroups.entries()) {
    const bytes = writeManifest({ schema, spec, fields, snapshotId, files })
    const manifestPath = `${metadataDir(opts.base.metadata)}/${commitId}-m${i}.avro`
    await io.write(manifestPath, bytes)
    written.push(manifestPath)
    out.push({ path: manifestPath, length: bytes.byteLength, specId: spec['spec-id'], fields, files })
  }
  return out
}

export interface CommitReplaceOptions {
  io: FileIO
  catalog: Catalog
  id: TableIdentifier
  /** The table as planned (the first attempt builds on it; the manifests go to its metadata folder). */
  base: LoadedTable
  /** Who commits: error messages and the snapshot's `floe.maintenance` summary property. */
  label: 'compaction' | 'retention'
  operation?: ReplaceArgs['operation']
  snapshotId: bigint
  commitId: string
  /** The schema, spec and bound fields the added files were written with. */
  schema: IcebergSchema
  spec: PartitionSpec
  fields: readonly BoundPartitionField[]
  removed: ReplaceArgs['removed']
  /** The added data files, one manifest for each group (compaction clusters them by partition). */
  addedGroups: readonly (readonly DataFile[])[]
  /** The data files already written: deleted with the manifests if the commit definitely fails. */
  written: readonly string[]
  /** Called after the manifests are written and before the commit (crash tests hook in here). */
  beforeCommit?: () => Promise<void>
  /** Checked right before each attempt: false = the maintenance lease was lost, stop. */
  stillOwner?: () => Promise<boolean>
  sleep?: (ms: number) => Promise<void>
}

/**
 * Writes the added files' manifests and commits a maintenance replace through the commit core,
 * rebuilt on the current snapshot at each attempt (`buildReplace`). Returns the attempts it took.
 * Retries running out is a MaintenanceConflictError (the next run plans again); a definite
 * failure deletes every file written for it.
 */
export async function commitReplace(opts: CommitReplaceOptions): Promise<number> {
  const { io, id, label, commitId } = opts
  const written = [...opts.written]
  let addedManifests: AddedManifest[]
  try {
    addedManifests = await writeAddedManifests(io, opts, written)
  } catch (err) {
    await deleteAll(io, written)
    throw err
  }
  await opts.beforeCommit?.()
  const added = opts.addedGroups.flat()
  try {
    const { attempts } = await commitWithRetry({
      catalog: opts.catalog,
      id,
      io,
      base: opts.base,
      sleep: opts.sleep,
      build: async (loaded, attempt) => {
        if (opts.stillOwner && !(await opts.stillOwner()))
          throw new MaintenanceConflictError(`${label}: the maintenance lease was lost before the commit`)
        const built = await buildReplace(io, loaded, {
          snapshotId: opts.snapshotId,
          commitId,
          removed: opts.removed,
          added,
          addedManifests,
          attempt,
          operation: opts.operation,
          label,
          extraSummary: { 'floe.commit-id': commitId, 'floe.maintenance': label },
        })
        return {
          // main must not have moved since this attempt's base; appends that moved it are
          // picked up by the next attempt, which rebuilds on them.
          requirements: mainBranchRequirements(loaded.metadata),
          updates: addSnapshotUpdates(built.snapshot),
          attemptFiles: built.written,
        }
      },
      landed: (md) => findSnapshotByCommitId(md, commitId) !== undefined,
      onDefiniteFailure: () => deleteAll(io, written),
    })
    return attempts
  } catch (err) {
    if (err instanceof CommitRetriesExhaustedError)
      throw new MaintenanceConflictError(`${label} of ${id.name}: ${err.message}`)
    throw err
  }
}

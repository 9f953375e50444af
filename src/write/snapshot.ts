/**
 * Append snapshots: snapshot ids, summaries and the next table metadata (the Iceberg spec).
 * Pure: the caller supplies the base metadata (as loaded from the catalog) and the manifest list
 * it already wrote on that base.
 */
import { randomBytes } from 'node:crypto'
import type { Snapshot, TableMetadata } from '../table/metadata.ts'
import { currentSnapshot } from '../table/metadata.ts'
import { addSnapshotUpdates } from '../table/append-commit.ts'
import { applyUpdates, nextTimestamp } from '../table/updates.ts'

const LONG_MAX = (1n << 63n) - 1n

/**
 * A new snapshot id as Java computes it: a random (type-4) UUID's high 64 bits XOR its low 64 bits,
 * `& Long.MAX_VALUE` — positive and within a signed int64 (2^63 broke Java/Athena, iceberg-python#1424).
 */
export function newSnapshotId(): bigint {
  for (;;) {
    const b = randomBytes(16)
    b[6] = (b[6] & 0x0f) | 0x40 // version 4
    b[8] = (b[8] & 0x3f) | 0x80 // IETF variant
    const id = (b.readBigUInt64BE(0) ^ b.readBigUInt64BE(8)) & LONG_MAX
    if (id !== 0n) return id
  }
}

/** What an append adds; sizes in bytes. */
export interface AppendStats {
  addedDataFiles: number
  addedRecords: bigint
  addedFilesSize: bigint
  changedPartitionCount: number
}

const TOTALS: [total: string, added: keyof AppendStats | undefined][] = [
  ['total-records', 'addedRecords'],
  ['total-files-size', 'addedFilesSize'],
  ['total-data-files', 'addedDataFiles'],
  ['total-delete-files', undefined],
  ['total-position-deletes', undefined],
  ['total-equality-deletes', undefined],
]

/**
 * Summary of an append (Java `SnapshotSummary`): `operation`, the per-commit counters (only when
 * > 0), totals carried from the parent's summary (dropped if the parent's value is missing or not
 * a number, as Java does), then `extra` (Floe's `floe.*` keys) which may not override them.
 */
export function appendSummary(
  parent: Snapshot | undefined,
  stats: AppendStats,
  extra: Record<string, string> = {},
): Record<string, string> {
  const summary: Record<string, string> = { ...extra, operation: 'append' }
  const counters: [string, number | bigint][] = [
    ['added-data-files', stats.addedDataFiles],
    ['added-records', stats.addedRecords],
    ['added-files-size', stats.addedFilesSize],
    ['changed-partition-count', stats.changedPartitionCount],
  ]
  for (const [k, v] of counters) if (BigInt(v) > 0n) summary[k] = String(v)
  for (const [total, added] of TOTALS) {
    const prev = parent === undefined ? '0' : parent.summary?.[total]
    if (prev === undefined || !/^\d+$/.test(prev)) continue
    summary[total] = (BigInt(prev) + (added === undefined ? 0n : BigInt(stats[added]))).toString()
  }
  return summary
}

export interface AppendSnapshotArgs {
  snapshotId: bigint
  manifestListLocation: string
  stats: AppendStats
  /** Extra summary properties (`floe.commit-id`, `floe.writer-id`, ...). */
  extraSummary?: Record<string, string>
  /** URI of the metadata file `base` was read from (goes into `metadata-log`). */
  baseMetadataLocation: string
  nowMs?: bigint
}

/**
 * The append snapshot Floe adds to `base`: sequence number = last + 1, parent = current snapshot,
 * summary totals carried from the parent.
 */
export function buildAppendSnapshot(base: TableMetadata, args: AppendSnapshotArgs): Snapshot {
  const parent = currentSnapshot(base)
  return {
    'sequence-number': base['last-sequence-number'] + 1n,
    'snapshot-id': args.snapshotId,
    ...(parent ? { 'parent-snapshot-id': parent['snapshot-id'] } : {}),
    'timestamp-ms': nextTimestamp(base, args.nowMs ?? BigInt(Date.now())),
    summary: appendSummary(parent, args.stats, args.extraSummary),
    'manifest-list': args.manifestListLocation,
    'schema-id': base['current-schema-id'],
  }
}

/**
 * The next metadata with `snapshot` added exactly as given and made main, through the commit
 * core's `applyUpdates` (metadata-log extended by the base file and trimmed to
 * `write.metadata.previous-versions-max`).
 */
export function applySnapshot(
  base: TableMetadata,
  snapshot: Snapshot,
  baseMetadataLocation: string,
  nowMs: bigint = BigInt(Date.now()),
): TableMetadata {
  return applyUpdates(base, addSnapshotUpdates(snapshot), {
    previousMetadataLocation: baseMetadataLocation,
    nowMs,
  })
}

/** The next metadata after appending one snapshot of Floe's own to `base` (build + apply). */
export function addAppendSnapshot(base: TableMetadata, args: AppendSnapshotArgs): TableMetadata {
  const snapshot = buildAppendSnapshot(base, args)
  return applySnapshot(base, snapshot, args.baseMetadataLocation, snapshot['timestamp-ms'])
}

/** The snapshot whose summary has `floe.commit-id` = `commitId` (used after an unknown commit state). */
export function findSnapshotByCommitId(metadata: TableMetadata, commitId: string): Snapshot | undefined {
  return metadata.snapshots?.find((s) => s.summary?.['floe.commit-id'] === commitId)
}

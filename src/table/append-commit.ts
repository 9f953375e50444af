/**
 * An append as requirements + updates, exactly what Java's `UpdateRequirements.forUpdateTable` and
 * PyIceberg's append send: `assert-table-uuid` + `assert-ref-snapshot-id` (main as the snapshot was
 * built on, null for the first append) and `add-snapshot` + `set-snapshot-ref main`.
 */
import { FloeError } from '../errors.ts'
import type { Catalog, LoadedTable, TableIdentifier } from './catalog.ts'
import type { Snapshot, TableMetadata } from './metadata.ts'
import { refSnapshotId, type TableRequirement } from './requirements.ts'
import type { TableUpdate } from './updates.ts'

/** The requirements of a commit that moves `main` forward from `base`. */
export function mainBranchRequirements(base: TableMetadata): TableRequirement[] {
  return [
    { type: 'assert-table-uuid', uuid: base['table-uuid'] },
    { type: 'assert-ref-snapshot-id', ref: 'main', 'snapshot-id': refSnapshotId(base, 'main') ?? null },
  ]
}

/** Add `snapshot` and make it main. */
export function addSnapshotUpdates(snapshot: Snapshot): TableUpdate[] {
  return [
    { action: 'add-snapshot', snapshot },
    {
      action: 'set-snapshot-ref',
      'ref-name': 'main',
      type: 'branch',
      'snapshot-id': snapshot['snapshot-id'],
    },
  ]
}

/** A whole next metadata built elsewhere (tests, fixtures) whose one new snapshot is `snapshotId`. */
export interface AppendCommit {
  base: LoadedTable
  metadata: TableMetadata
  snapshotId: bigint
}

/** Commit the snapshot `commit.snapshotId` of `commit.metadata` as an append on `commit.base`. */
export async function commitAppend(
  catalog: Catalog,
  id: TableIdentifier,
  commit: AppendCommit,
): Promise<LoadedTable> {
  const snapshot = commit.metadata.snapshots.find((s) => s['snapshot-id'] === commit.snapshotId)
  if (!snapshot) throw new FloeError(`snapshot ${commit.snapshotId} is not in the commit's metadata`)
  return catalog.commit(id, mainBranchRequirements(commit.base.metadata), addSnapshotUpdates(snapshot), {
    base: commit.base,
  })
}

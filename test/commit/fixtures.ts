/**
 * Table metadata for catalog-level contract cases (create, conflict), where the point is the
 * catalog's pointer swap rather than data files: built with the write side's own builders
 * (`newTableMetadata`, `addAppendSnapshot`), with an empty manifest list really written, since
 * Floe's REST endpoint (like real servers) refuses a snapshot whose manifest list is missing.
 */
import { randomUUID } from 'node:crypto'
import type { LoadedTable } from '../../src/table/catalog.ts'
import type { Row } from '../../src/rows.ts'
import type { FileIO } from '../../src/storage/file-io.ts'
import { writeManifestList } from '../../src/write/manifest-list.ts'
import { newTableMetadata as buildNewTable, type TableMetadata } from '../../src/table/metadata.ts'
import { addAppendSnapshot, newSnapshotId } from '../../src/write/snapshot.ts'
import { loadTableDefinition } from '../../src/write/table-definition.ts'
import { eventRow } from '../support/rows.ts'

/** Ids above 2^53, so a lossy JSON path anywhere would show. */
export function snapshotId(): bigint {
  for (;;) {
    const id = newSnapshotId()
    if (id > BigInt(Number.MAX_SAFE_INTEGER)) return id
  }
}

export function newTableMetadata(location: string): TableMetadata {
  return buildNewTable(loadTableDefinition('pa_events'), location, randomUUID())
}

/** `base` + one append snapshot claiming `records` rows (no data files). */
export async function withAppend(
  io: FileIO,
  base: LoadedTable,
  id = snapshotId(),
  records = 1,
): Promise<TableMetadata> {
  const md = base.metadata
  const parent = md.refs?.main?.['snapshot-id']
  const manifestListLocation = `${md.location}/metadata/snap-${id}-1-${randomUUID()}.avro`
  const sequenceNumber = md['last-sequence-number'] + 1n
  await io.write(
    manifestListLocation,
    writeManifestList({ snapshotId: id, parentSnapshotId: parent, sequenceNumber, manifests: [] }),
  )
  return addAppendSnapshot(md, {
    snapshotId: id,
    manifestListLocation,
    stats: { addedDataFiles: 0, addedRecords: BigInt(records), addedFilesSize: 0n, changedPartitionCount: 0 },
    extraSummary: { 'floe.commit-id': randomUUID() },
    baseMetadataLocation: base.metadataLocation,
  })
}

/** `count` valid `pa_events` rows of one writer; `event_name` tags them `<tag>-<i>` for read-back. */
export function eventRows(tag: string, count: number): Row[] {
  const t0 = Date.UTC(2026, 10, 20, 12) * 1000
  return Array.from({ length: count }, (_, i) => {
    const row = eventRow({
      site_id: '6f1c7c3e-2b51-4b8a-9a36-0c6a7f0e5d11',
      session_id: randomUUID(),
      visit_id: randomUUID(),
      event_time: t0 + i * 1_000_001,
      received_at: t0 + i * 1_000_001 + 5,
      event_type: 2,
      event_name: `${tag}-${i}`,
      url_path: '/contract',
      event_data: { writer: tag },
    })
    return row as unknown as Row
  })
}

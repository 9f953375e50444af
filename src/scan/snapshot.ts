/**
 * What a snapshot holds, read from its manifest list and manifests: the live data files with the
 * manifest entry each came from (sequence numbers resolved by inheritance, spec §Sequence Number
 * Inheritance). Compaction plans from it and validates its commit against it; orphan removal reads
 * every snapshot's manifests with `readManifest`; the query layer (`src/report/`) plans its scans
 * with `readManifest` + `resolveEntry` after pruning manifests by partition (`prune.ts`).
 *
 * Manifests are read with the writer's own Avro schema and records are kept as read, so a manifest
 * that compaction must rewrite (entries marked EXISTING / DELETED) keeps every field another engine
 * wrote, exactly as Java's `ManifestFilterManager` copies entries.
 */
import type { FileIO } from '../storage/file-io.ts'
import type { Snapshot, TableMetadata } from '../table/metadata.ts'
import { currentSnapshot } from '../table/metadata.ts'
import { readAvroFile } from '../write/avro.ts'
import { parseManifestList, type ManifestFile } from '../write/manifest-list.ts'

/** A manifest entry as decoded (field names of Java's v2 schema). */
export interface EntryRecord {
  status: number
  snapshot_id: bigint | null
  sequence_number: bigint | null
  file_sequence_number: bigint | null
  data_file: DataFileRecord
}

export interface DataFileRecord {
  content?: number
  file_path: string
  file_format: string
  partition: Record<string, unknown>
  record_count: bigint
  file_size_in_bytes: bigint
  lower_bounds?: { key: number; value: Buffer }[] | null
  upper_bounds?: { key: number; value: Buffer }[] | null
  [key: string]: unknown
}

export const EXISTING = 0
export const ADDED = 1
export const DELETED = 2

/** A live (ADDED or EXISTING) data file of a snapshot. */
export interface LiveFile {
  path: string
  sizeBytes: bigint
  records: bigint
  specId: number
  /** The partition record as the manifest stores it (field name → value). */
  partition: Record<string, unknown>
  /** Resolved data and file sequence numbers and the snapshot that added the file. */
  dataSequenceNumber: bigint
  fileSequenceNumber: bigint
  snapshotId: bigint
  entry: EntryRecord
  manifestPath: string
}

/** One manifest as read, with its list entry. */
export interface ReadManifest {
  file: ManifestFile
  /** Writer schema and header of the Avro file, reused when the manifest is rewritten. */
  schema: unknown
  metadata: Record<string, string>
  entries: EntryRecord[]
}

export async function readManifest(io: FileIO, file: ManifestFile): Promise<ReadManifest> {
  const avro = readAvroFile<EntryRecord>(await io.read(file.manifest_path))
  return { file, schema: avro.schema, metadata: avro.metadata, entries: avro.records }
}

/** Entries with inherited values filled in (null seq/snapshot id of ADDED entries come from the list). */
export function resolveEntry(m: ManifestFile, e: EntryRecord): EntryRecord {
  const inherit = e.status === ADDED
  return {
    ...e,
    snapshot_id: e.snapshot_id ?? m.added_snapshot_id,
    sequence_number: e.sequence_number ?? (inherit ? m.sequence_number : 0n),
    file_sequence_number: e.file_sequence_number ?? (inherit ? m.sequence_number : 0n),
  }
}

export interface SnapshotContents {
  snapshot: Snapshot | undefined
  manifests: ManifestFile[]
  /** Live data files (content 0 manifests). */
  dataFiles: LiveFile[]
  /** Number of live delete files (position or equality): compaction leaves such tables alone. */
  liveDeleteFiles: number
}

/** The manifests and live files of `snapshot` (the current one by default). */
export async function snapshotContents(
  io: FileIO,
  metadata: TableMetadata,
  snapshot: Snapshot | undefined = currentSnapshot(metadata),
): Promise<SnapshotContents> {
  if (!snapshot) return { snapshot, manifests: [], dataFiles: [], liveDeleteFiles: 0 }
  const manifests = parseManifestList(await io.read(snapshot['manifest-list']))
  const dataFiles: LiveFile[] = []
  let liveDeleteFiles = 0
  for (const m of manifests) {
    const read = await readManifest(io, m)
    for (const raw of read.entries) {
      if (raw.status === DELETED) continue
      if (m.content !== 0) {
        liveDeleteFiles++
        continue
      }
      const e = resolveEntry(m, raw)
      dataFiles.push({
        path: e.data_file.file_path,
        sizeBytes: BigInt(e.data_file.file_size_in_bytes),
        records: BigInt(e.data_file.record_count),
        specId: m.partition_spec_id,
        partition: e.data_file.partition ?? {},
        dataSequenceNumber: e.sequence_number!,
        fileSequenceNumber: e.file_sequence_number!,
        snapshotId: e.snapshot_id!,
        entry: raw,
        manifestPath: m.manifest_path,
      })
    }
  }
  return { snapshot, manifests, dataFiles, liveDeleteFiles }
}

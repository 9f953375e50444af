/**
 * Manifest lists (`snap-<snapshot-id>-<attempt>-<commit-uuid>.avro`): this append's manifest
 * followed by every manifest of the parent snapshot copied unchanged (Java "fast append";
 * the Iceberg spec). The list is rebuilt on every commit attempt from the *current* parent, never
 * resent: a stale list would drop the manifests of writers that committed in between.
 */
import { readFileSync } from 'node:fs'
import type { FileIO } from '../storage/file-io.ts'
import type { TableMetadata } from '../table/metadata.ts'
import { currentSnapshot } from '../table/metadata.ts'
import type { BoundPartitionField } from './partition.ts'
import type { DataFile } from './manifest.ts'
import { readAvroFile, writeAvroFile } from './avro.ts'
import { encodeBound, type BoundValue } from './bounds.ts'

export const MANIFEST_LIST_SCHEMA = JSON.parse(
  readFileSync(new URL('../../schemas/avro/manifest_list.json', import.meta.url), 'utf8'),
) as { fields: { name: string; 'field-id': number }[] }

export interface FieldSummary {
  contains_null: boolean
  contains_nan: boolean | null
  lower_bound: Buffer | null
  upper_bound: Buffer | null
}

/** One manifest list entry (`manifest_file`), field names as in the Avro schema. */
export interface ManifestFile {
  manifest_path: string
  manifest_length: bigint
  partition_spec_id: number
  content: number
  sequence_number: bigint
  min_sequence_number: bigint
  added_snapshot_id: bigint
  added_files_count: number
  existing_files_count: number
  deleted_files_count: number
  added_rows_count: bigint
  existing_rows_count: bigint
  deleted_rows_count: bigint
  partitions: FieldSummary[] | null
  key_metadata: Buffer | null
}

function compare(a: BoundValue, b: BoundValue): number {
  if (typeof a === 'string' && typeof b === 'string') return Buffer.compare(Buffer.from(a), Buffer.from(b))
  return a < b ? -1 : a > b ? 1 : 0
}

/** Partition field summaries (r508) over the files' partition tuples, bounds in §3 encoding. */
export function partitionSummaries(
  fields: readonly BoundPartitionField[],
  files: readonly DataFile[],
): FieldSummary[] {
  return fields.map((f, i) => {
    let containsNull = false
    let lo: BoundValue | undefined
    let hi: BoundValue | undefined
    for (const file of files) {
      const v = file.partition[i]
      if (v === null || v === undefined) {
        containsNull = true
        continue
      }
      if (lo === undefined || compare(v, lo) < 0) lo = v
      if (hi === undefined || compare(v, hi) > 0) hi = v
    }
    const enc = (v: BoundValue | undefined) =>
      v === undefined ? null : Buffer.from(encodeBound(f.resultType, v))
    const floating = f.resultType === 'float' || f.resultType === 'double'
    return {
      contains_null: containsNull,
      contains_nan: floating ? null : false,
      lower_bound: enc(lo),
      upper_bound: enc(hi),
    }
  })
}

/** The list entry of a manifest this append just wrote; sequence numbers are set per attempt. */
export function addedManifestFile(args: {
  path: string
  length: number
  specId: number
  snapshotId: bigint
  fields: readonly BoundPartitionField[]
  files: readonly DataFile[]
  sequenceNumber: bigint
}): ManifestFile {
  return {
    manifest_path: args.path,
    manifest_length: BigInt(args.length),
    partition_spec_id: args.specId,
    content: 0,
    sequence_number: args.sequenceNumber,
    min_sequence_number: args.sequenceNumber,
    added_snapshot_id: args.snapshotId,
    added_files_count: args.files.length,
    existing_files_count: 0,
    deleted_files_count: 0,
    added_rows_count: args.files.reduce((s, f) => s + f.recordCount, 0n),
    existing_rows_count: 0n,
    deleted_rows_count: 0n,
    partitions: partitionSummaries(args.fields, args.files),
    key_metadata: null,
  }
}

export interface ManifestListInput {
  snapshotId: bigint
  parentSnapshotId: bigint | undefined
  sequenceNumber: bigint
  manifests: readonly ManifestFile[]
}

/** Bytes of a manifest list with Java's `ManifestListWriter.V2Writer` header keys. */
export function writeManifestList(input: ManifestListInput): Uint8Array {
  return writeAvroFile(MANIFEST_LIST_SCHEMA, input.manifests, {
    'snapshot-id': input.snapshotId.toString(),
    'parent-snapshot-id': input.parentSnapshotId === undefined ? 'null' : input.parentSnapshotId.toString(),
    'sequence-number': input.sequenceNumber.toString(),
    'format-version': '2',
  })
}

/**
 * Decode a manifest list written by any engine into v2 `ManifestFile`s. Fields are matched by
 * field id, not name (v1 lists call 504-506 `added_data_files_count` etc.); fields a v1 list lacks
 * get v2's defaults for v1 data (content 0, sequence numbers 0).
 */
export function parseManifestList(bytes: Uint8Array): ManifestFile[] {
  return parseManifestListWithGaps(bytes).map((m) => m.manifest)
}

const COUNTS = [
  'added_files_count',
  'existing_files_count',
  'deleted_files_count',
  'added_rows_count',
  'existing_rows_count',
  'deleted_rows_count',
] as const

/** Like parseManifestList, also saying which entries lacked their file/row counts (v1 optional). */
function parseManifestListWithGaps(bytes: Uint8Array): { manifest: ManifestFile; countsMissing: boolean }[] {
  const file = readAvroFile<Record<string, unknown>>(bytes)
  const writerFields = (file.schema as { fields: { name: string; 'field-id'?: number }[] }).fields
  const nameById = new Map(writerFields.map((f) => [f['field-id'], f.name]))
  const defaults: Record<string, unknown> = {
    content: 0,
    sequence_number: 0n,
    min_sequence_number: 0n,
    added_files_count: 0,
    existing_files_count: 0,
    deleted_files_count: 0,
    added_rows_count: 0n,
    existing_rows_count: 0n,
    deleted_rows_count: 0n,
    partitions: null,
    key_metadata: null,
  }
  return file.records.map((r) => {
    const out: Record<string, unknown> = {}
    let countsMissing = false
    for (const f of MANIFEST_LIST_SCHEMA.fields) {
      const writerName = nameById.get(f['field-id']) ?? f.name
      const v = r[writerName]
      if ((v === undefined || v === null) && (COUNTS as readonly string[]).includes(f.name))
        countsMissing = true
      out[f.name] = v === undefined || v === null ? (defaults[f.name] ?? null) : v
    }
    return { manifest: out as unknown as ManifestFile, countsMissing }
  })
}

/**
 * The counts of a manifest, from its entries (status 0 existing, 1 added, 2 deleted). Needed when
 * a (v1-era) list left them out: v2 lists require them, and writing 0 would tell readers (Java's
 * `hasAddedFiles()`/`hasExistingFiles()`) that the manifest holds no live files, so they would
 * skip it and its rows would vanish from scans.
 */
async function countedFromEntries(io: FileIO, m: ManifestFile): Promise<ManifestFile> {
  const entries = readAvroFile<{ status: number; data_file: { record_count: bigint | number } }>(
    await io.read(m.manifest_path),
  ).records
  const files = [0, 0, 0]
  const rows = [0n, 0n, 0n]
  for (const e of entries) {
    files[e.status] += 1
    rows[e.status] += BigInt(e.data_file.record_count)
  }
  return {
    ...m,
    existing_files_count: files[0],
    added_files_count: files[1],
    deleted_files_count: files[2],
    existing_rows_count: rows[0],
    added_rows_count: rows[1],
    deleted_rows_count: rows[2],
  }
}

/** The manifests of the table's current snapshot (empty for a table without snapshots). */
export async function currentManifests(io: FileIO, metadata: TableMetadata): Promise<ManifestFile[]> {
  const id = metadata['current-snapshot-id']
  const snap = currentSnapshot(metadata)
  if (!snap) {
    if (id === undefined || id === null || id === -1n) return []
    throw new Error(`current snapshot ${id} not found in table metadata`)
  }
  const listed = parseManifestListWithGaps(await io.read(snap['manifest-list']))
  return Promise.all(listed.map((l) => (l.countsMissing ? countedFromEntries(io, l.manifest) : l.manifest)))
}

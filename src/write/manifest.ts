/**
 * Manifests (`<commit-uuid>-m0.avro`): one ADDED entry per data file of an append, in the Avro
 * schema Java writes (`schemas/avro/manifest_entry.json`, the Iceberg spec, Appendix A.2), with
 * the partition record `r102` generated from the table's partition spec.
 *
 * Entries carry the committing snapshot id explicitly and null sequence numbers (inherited from the
 * manifest list), so the same manifest stays valid across commit retries: only the manifest list
 * and the metadata are rebuilt when another writer wins the race.
 */
import { readFileSync } from 'node:fs'
import type { IcebergPrimitive, IcebergSchema, PartitionSpec } from '../table/metadata.ts'
import type { BoundPartitionField, PartitionTuple } from './partition.ts'
import type { FileMetrics } from './metrics.ts'
import { writeAvroFile } from './avro.ts'

const ENTRY_SCHEMA_TEMPLATE = JSON.parse(
  readFileSync(new URL('../../schemas/avro/manifest_entry.json', import.meta.url), 'utf8'),
) as AvroRecordSchema

interface AvroField {
  name: string
  type: unknown
  'field-id': number
  default?: null
}
interface AvroRecordSchema {
  type: 'record'
  name: string
  fields: AvroField[]
}

/** A data file as the manifest records it (`data_file`, record r2). */
export interface DataFile extends FileMetrics {
  filePath: string
  specId: number
  /** Partition tuple in spec field order. */
  partition: PartitionTuple
  /** The table sort order the file's rows are sorted by (0 or absent = unsorted). */
  sortOrderId?: number
}

/** Avro type of a partition value (transform result type), per Java `TypeToSchema`. */
export function avroPrimitive(type: IcebergPrimitive): unknown {
  switch (type) {
    case 'date':
      return { type: 'int', logicalType: 'date' }
    case 'timestamptz':
      return { type: 'long', logicalType: 'timestamp-micros', 'adjust-to-utc': true }
    case 'timestamp':
      return { type: 'long', logicalType: 'timestamp-micros', 'adjust-to-utc': false }
    case 'uuid':
      return { type: 'fixed', name: 'uuid_fixed', size: 16, logicalType: 'uuid' }
    case 'binary':
      return 'bytes'
    default:
      return type
  }
}

/** The `manifest_entry` schema with `r102` holding one optional field per partition field. */
export function manifestEntrySchema(fields: readonly BoundPartitionField[]): AvroRecordSchema {
  const schema = structuredClone(ENTRY_SCHEMA_TEMPLATE)
  const dataFile = schema.fields.find((f) => f.name === 'data_file')!.type as AvroRecordSchema
  const partition = dataFile.fields.find((f) => f.name === 'partition')!.type as AvroRecordSchema
  partition.fields = fields.map((f) => ({
    name: f.name,
    type: ['null', avroPrimitive(f.resultType)],
    default: null,
    'field-id': f.fieldId,
  }))
  return schema
}

const mapArray = <V>(m: Map<number, V>): { key: number; value: V }[] | null =>
  m.size === 0 ? null : [...m].map(([key, value]) => ({ key, value }))

function partitionRecord(
  fields: readonly BoundPartitionField[],
  tuple: PartitionTuple,
): Record<string, unknown> {
  const rec: Record<string, unknown> = {}
  fields.forEach((f, i) => {
    const v = tuple[i]
    if (v === null || v === undefined) rec[f.name] = null
    else if (f.resultType === 'long' || f.resultType === 'timestamp' || f.resultType === 'timestamptz') {
      rec[f.name] = BigInt(v as number)
    } else rec[f.name] = v
  })
  return rec
}

/** The Avro record of one ADDED manifest entry. */
export function addedEntry(
  fields: readonly BoundPartitionField[],
  snapshotId: bigint,
  file: DataFile,
): unknown {
  return {
    status: 1,
    snapshot_id: snapshotId,
    sequence_number: null,
    file_sequence_number: null,
    data_file: {
      content: 0,
      file_path: file.filePath,
      file_format: 'PARQUET',
      partition: partitionRecord(fields, file.partition),
      record_count: file.recordCount,
      file_size_in_bytes: file.fileSizeInBytes,
      column_sizes: mapArray(file.columnSizes),
      value_counts: mapArray(file.valueCounts),
      null_value_counts: mapArray(file.nullValueCounts),
      nan_value_counts: null,
      lower_bounds: mapArray(bufferMap(file.lowerBounds)),
      upper_bounds: mapArray(bufferMap(file.upperBounds)),
      key_metadata: null,
      split_offsets: file.splitOffsets.length ? file.splitOffsets : null,
      equality_ids: null,
      sort_order_id: file.sortOrderId ?? 0,
      referenced_data_file: null,
    },
  }
}

/** avsc's `bytes` wants Buffers. */
function bufferMap(m: Map<number, Uint8Array>): Map<number, Buffer> {
  const out = new Map<number, Buffer>()
  for (const [k, v] of m) out.set(k, Buffer.from(v.buffer, v.byteOffset, v.byteLength))
  return out
}

export interface ManifestInput {
  schema: IcebergSchema
  spec: PartitionSpec
  fields: readonly BoundPartitionField[]
  snapshotId: bigint
  files: readonly DataFile[]
}

/** Header keys of a data manifest as Java's `ManifestWriter.V2Writer` writes them (+ `schema-id`). */
export function manifestHeader(schema: IcebergSchema, spec: PartitionSpec): Record<string, string> {
  return {
    schema: JSON.stringify(schema),
    'schema-id': String(schema['schema-id']),
    'partition-spec': JSON.stringify(spec.fields),
    'partition-spec-id': String(spec['spec-id']),
    'format-version': '2',
    content: 'data',
  }
}

/** Bytes of a data manifest with header keys as Java's `ManifestWriter.V2Writer` (+ `schema-id`). */
export function writeManifest(input: ManifestInput): Uint8Array {
  const records = input.files.map((f) => addedEntry(input.fields, input.snapshotId, f))
  return writeAvroFile(manifestEntrySchema(input.fields), records, manifestHeader(input.schema, input.spec))
}

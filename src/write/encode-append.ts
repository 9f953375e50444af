/**
 * The CPU-heavy, I/O-free part of an append: rows → one Parquet file per partition (with its
 * metrics, read back from the footer) → the manifest listing them. Pure data in, bytes out, so it
 * runs the same on the receiving thread or in a worker thread (`encoder-pool.ts`); `stageAppend`
 * (data-files.ts) uploads what it returns.
 *
 * The input is plain data (structured-clone safe): the partition fields are bound here from the
 * spec and schema rather than passed in.
 */
import type { Row } from '../rows.ts'
import type { IcebergSchema, PartitionSpec } from '../table/metadata.ts'
import { bindSpec, groupByPartition } from './partition.ts'
import { encodeParquet, type ParquetWriteOptions } from './parquet.ts'
import { fileMetrics } from './metrics.ts'
import { writeManifest, type DataFile } from './manifest.ts'

export interface EncodeInput {
  /** Floe's table definition: what the Parquet files are written with. */
  schema: IcebergSchema
  /** The table's current schema (a superset, see checkTableSchema): the manifest's `schema` header. */
  tableSchema: IcebergSchema
  spec: PartitionSpec
  /** Table properties (metrics modes, `write.data.path`). */
  properties: Record<string, string>
  /** Table location (no trailing `/`). */
  location: string
  /** Where the manifest goes (the table's metadata folder). */
  metadataDir: string
  /** Unique per append; part of every file name so retries and other writers never collide. */
  commitId: string
  snapshotId: bigint
  rows: readonly Row[]
  parquet?: ParquetWriteOptions
}

export interface EncodedAppend {
  dataFiles: Array<{ uri: string; bytes: Uint8Array; file: DataFile }>
  manifestPath: string
  manifest: Uint8Array
}

/** Turns an append's rows into its data files and manifest (nothing written yet). */
export function encodeAppend(input: EncodeInput): EncodedAppend {
  const fields = bindSpec(input.spec, input.schema)
  const dataDir = (input.properties['write.data.path'] ?? `${input.location}/data`).replace(/\/+$/, '')
  const dataFiles = groupByPartition(fields, input.rows).map((g, i) => {
    const bytes = encodeParquet(input.schema, g.rows, input.parquet)
    const dir = g.path ? `${dataDir}/${g.path}` : dataDir
    // Java's pattern `%05d-%d-<operation-uuid>-%05d.parquet` (partition index, task, uuid, file).
    const uri = `${dir}/${String(i).padStart(5, '0')}-0-${input.commitId}-00001.parquet`
    const file: DataFile = {
      ...fileMetrics(bytes, input.schema, input.properties),
      filePath: uri,
      specId: input.spec['spec-id'],
      partition: g.tuple,
    }
    return { uri, bytes, file }
  })
  const manifest = writeManifest({
    schema: input.tableSchema,
    spec: input.spec,
    fields,
    snapshotId: input.snapshotId,
    files: dataFiles.map((d) => d.file),
  })
  return { dataFiles, manifestPath: `${input.metadataDir}/${input.commitId}-m0.avro`, manifest }
}

/** Where appends are encoded: on the calling thread, or in worker threads (encoder-pool.ts). */
export interface AppendEncoder {
  encode(input: EncodeInput): Promise<EncodedAppend>
  close(): Promise<void>
}

/** Encodes on the calling thread (`FLOE_ENCODE_WORKERS=0`, tests, tools). */
export const inlineEncoder: AppendEncoder = {
  encode: async (input) => encodeAppend(input),
  close: async () => undefined,
}

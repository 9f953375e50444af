/**
 * The once-per-append stage: group rows by partition, encode one Parquet file per partition,
 * compute its metrics, upload all files, then the manifest listing them. Everything here is
 * independent of the table's current snapshot, so commit retries reuse it unchanged.
 */
import type { FileIO } from '../storage/file-io.ts'
import type { Row } from '../rows.ts'
import type { IcebergSchema, PartitionSpec } from '../table/metadata.ts'
import { groupByPartition, type BoundPartitionField } from './partition.ts'
import { encodeParquet, type ParquetWriteOptions } from './parquet.ts'
import { fileMetrics } from './metrics.ts'
import { writeManifest, type DataFile } from './manifest.ts'

export interface StageInput {
  /** Floe's table definition: what the Parquet files are written with. */
  schema: IcebergSchema
  /** The table's current schema (a superset, see checkTableSchema): the manifest's `schema` header. */
  tableSchema: IcebergSchema
  spec: PartitionSpec
  fields: readonly BoundPartitionField[]
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

export interface StagedAppend {
  files: DataFile[]
  manifestPath: string
  manifestLength: number
  /** Every URI written, for cleanup after a definite failure. */
  written: string[]
}

/** Upload all `uris`→bytes; on any failure delete the ones that made it and rethrow. */
async function writeAll(io: FileIO, items: { uri: string; bytes: Uint8Array }[]): Promise<void> {
  const results = await Promise.allSettled(items.map((it) => io.write(it.uri, it.bytes)))
  const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected')
  if (!failed) return
  await deleteAll(
    io,
    items.filter((_, i) => results[i].status === 'fulfilled').map((it) => it.uri),
  )
  throw failed.reason
}

/** Best-effort delete (used only when the files are certainly not referenced by any snapshot). */
export async function deleteAll(io: FileIO, uris: readonly string[]): Promise<void> {
  await Promise.allSettled(uris.map((u) => io.delete(u)))
}

/** Encode and upload the data files and the manifest of one append. */
export async function stageAppend(io: FileIO, input: StageInput): Promise<StagedAppend> {
  const dataDir = (input.properties['write.data.path'] ?? `${input.location}/data`).replace(/\/+$/, '')
  const groups = groupByPartition(input.fields, input.rows)
  const encoded = groups.map((g, i) => {
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
  await writeAll(io, encoded)
  const files = encoded.map((e) => e.file)
  const manifestPath = `${input.metadataDir}/${input.commitId}-m0.avro`
  const manifest = writeManifest({
    schema: input.tableSchema,
    spec: input.spec,
    fields: input.fields,
    snapshotId: input.snapshotId,
    files,
  })
  const written = encoded.map((e) => e.uri)
  try {
    await io.write(manifestPath, manifest)
  } catch (err) {
    await deleteAll(io, written)
    throw err
  }
  return { files, manifestPath, manifestLength: manifest.byteLength, written: [...written, manifestPath] }
}

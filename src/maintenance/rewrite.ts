/**
 * Rewrites one file group (compaction) into `outputFiles` new data files with bounded memory.
 *
 * Memory: at any time this holds one input file's bytes, one decoded row group, one sort batch of
 * at most `batchRows` rows, arrow-rs's open row group (same bound), the part of the output file
 * being uploaded (`FileIO.writeStream`: one S3 multipart part, `ICEBERG_S3_PART_SIZE_MB`; nothing
 * on a local disk) and the output file's footer. None of it grows with the partition or with the
 * target file size: a 10 GB day is read file by file and written part by part.
 *
 * Sort: by the table's sort order (Floe declares `site_id`, `event_time`), a full sort of the
 * group whatever its size: an external merge sort (`external-sort.ts`) that sorts runs of
 * `batchRows` rows, spills them under `spillDir` when the group holds more than one run, and
 * merges them k ways with about `batchRows` rows in memory. Every file written is then sorted and
 * carries the sort order's id (`sort_order_id`).
 */
import type { Row } from '../rows.ts'
import type {
  IcebergSchema,
  PartitionSpec,
  SortOrder,
  TableDefinition,
  TableMetadata,
} from '../table/metadata.ts'
import { currentSchema } from '../table/metadata.ts'
import type { FileIO } from '../storage/file-io.ts'
import { encodeParquetStream } from '../write/parquet.ts'
import { ParquetTail } from '../write/parquet-tail.ts'
import { fileMetrics } from '../write/metrics.ts'
import type { DataFile } from '../write/manifest.ts'
import { partitionPath, type BoundPartitionField, type PartitionTuple } from '../write/partition.ts'
import { rowGroups } from './read-rows.ts'
import { externalSort, type Compare } from './external-sort.ts'
import type { FileGroup } from './plan.ts'
import type { LiveFile } from '../scan/snapshot.ts'

export interface SortField {
  transform: string
  'source-id': number
  direction: 'asc' | 'desc'
  'null-order': 'nulls-first' | 'nulls-last'
}

export interface RewriteInput {
  io: FileIO
  schema: IcebergSchema
  spec: PartitionSpec
  fields: readonly BoundPartitionField[]
  sortOrder: SortOrder
  properties: Record<string, string>
  dataDir: string
  commitId: string
  /** Index of the group in this run (file names stay unique across groups). */
  groupIndex: number
  group: FileGroup
  batchRows: number
  /** Local folder for the sort's spill files (a subfolder per group, removed when done). */
  spillDir: string
  /**
   * Rows to keep (retention rewriting a file that straddles its cut-off); default all. The rows it
   * drops are counted, so the check that no row is lost still holds: written + dropped = read.
   */
  keep?: (row: Row) => boolean
}

export interface RewriteOutput {
  files: DataFile[]
  /** Rows `keep` dropped. */
  dropped: number
  /** URIs written (for cleanup if the commit fails definitely). */
  written: string[]
}

/**
 * Floe rewrites only tables whose current schema is exactly its own (by field id, name and type):
 * it writes files with its own schema, so other engines' columns would be dropped.
 */
export function sameSchema(def: TableDefinition, metadata: TableMetadata): boolean {
  const a = def.schema.fields
  const b = currentSchema(metadata).fields
  return (
    a.length === b.length &&
    a.every(
      (f, i) =>
        f.id === b[i].id && f.name === b[i].name && JSON.stringify(f.type) === JSON.stringify(b[i].type),
    )
  )
}

/** A comparator for the identity fields of a sort order (other transforms are not sorted on). */
export function sortComparator(order: SortOrder, schema: IcebergSchema): Compare | undefined {
  const keys = (order.fields as SortField[])
    .filter((f) => f.transform === 'identity')
    .map((f) => ({
      name: schema.fields.find((c) => c.id === f['source-id'])?.name,
      desc: f.direction === 'desc',
      nullsFirst: f['null-order'] !== 'nulls-last',
    }))
    .filter((k): k is { name: string; desc: boolean; nullsFirst: boolean } => k.name !== undefined)
  if (keys.length === 0) return undefined
  return (a, b) => {
    for (const k of keys) {
      const x = a[k.name] as string | number | null
      const y = b[k.name] as string | number | null
      if (x === y) continue
      if (x === null) return k.nullsFirst ? -1 : 1
      if (y === null) return k.nullsFirst ? 1 : -1
      const c = x < y ? -1 : x > y ? 1 : 0
      if (c !== 0) return k.desc ? -c : c
    }
    return 0
  }
}

export async function rewriteGroup(input: RewriteInput): Promise<RewriteOutput> {
  const { io, schema, group, batchRows } = input
  const compare = sortComparator(input.sortOrder, schema)
  const perFile = Math.ceil(group.records / group.outputFiles)
  const keep = input.keep
  let dropped = 0

  // One cursor over every input row, row group by row group.
  async function* inputRows(): AsyncGenerator<Row[]> {
    for (const f of group.files) {
      const bytes = await io.read(f.path)
      for await (const rows of rowGroups(bytes, schema)) {
        if (!keep) {
          yield rows
          continue
        }
        const kept = rows.filter(keep)
        dropped += rows.length - kept.length
        if (kept.length > 0) yield kept
      }
    }
  }
  const source = compare
    ? externalSort(inputRows(), compare, {
        runRows: batchRows,
        expectedRows: group.records,
        spillDir: `${input.spillDir}/${input.commitId}-${input.groupIndex}`,
      })
    : inputRows()
  let pending: Row[] = []
  let exhausted = false
  /** Up to `n` rows from the cursor. */
  async function take(n: number): Promise<Row[]> {
    // Gathered as a list and joined once: the merge hands out many small chunks.
    const parts: Row[][] = [pending]
    let have = pending.length
    while (have < n && !exhausted) {
      const next = await source.next()
      if (next.done) exhausted = true
      else {
        parts.push(next.value)
        have += next.value.length
      }
    }
    const all = parts.length === 1 ? parts[0] : parts.flat()
    pending = all.slice(n)
    return all.length <= n ? all : all.slice(0, n)
  }

  const tuple: PartitionTuple = input.fields.map((f) => group.partition[f.name] as PartitionTuple[number])
  const path = partitionPath(input.fields, tuple)
  const dir = path ? `${input.dataDir}/${path}` : input.dataDir
  const files: DataFile[] = []
  const written: string[] = []
  let rowsWritten = 0
  try {
    for (let n = 0; n < group.outputFiles; n++) {
      let remaining = n === group.outputFiles - 1 ? Infinity : perFile
      async function* batchesOf(): AsyncGenerator<Row[]> {
        while (remaining > 0) {
          const rows = await take(Math.min(batchRows, remaining))
          if (rows.length === 0) return
          remaining -= rows.length
          rowsWritten += rows.length
          yield rows
        }
      }
      // Peek: nothing left means no file (the previous one took the last rows).
      const first = await take(1)
      if (first.length === 0) break
      pending = first.concat(pending)
      const uri = `${dir}/${String(input.groupIndex).padStart(5, '0')}-0-${input.commitId}-${String(n + 1).padStart(5, '0')}.parquet`
      // The file streams to storage row group by row group; only its footer is kept for metrics.
      const tail = new ParquetTail()
      written.push(uri)
      await io.writeStream(
        uri,
        tail.observe(encodeParquetStream(schema, batchesOf(), { rowGroupSize: batchRows })),
      )
      files.push({
        ...fileMetrics(tail.footer(), schema, input.properties, tail.size),
        filePath: uri,
        specId: input.spec['spec-id'],
        partition: tuple,
        ...(compare ? { sortOrderId: input.sortOrder['order-id'] } : {}),
      })
    }
    // Never lose a row: what was written must be exactly what the group's manifests count.
    if (rowsWritten + dropped !== group.records || pending.length > 0 || !(await source.next()).done)
      throw new Error(
        `rewrite of ${group.partitionKey}: wrote ${rowsWritten} rows and dropped ${dropped}, manifests count ${group.records}`,
      )
  } catch (err) {
    await Promise.allSettled(written.map((u) => io.delete(u)))
    throw err
  } finally {
    // Closes the sort early on failure, which removes its spill folder now rather than in a day.
    await source.return(undefined)
  }
  return { files, written, dropped }
}

/**
 * Rewrites one file group (compaction) into `outputFiles` new data files with bounded memory.
 *
 * Memory: at any time this holds one input file's bytes, one decoded row group, one sort batch of
 * at most `batchRows` rows, arrow-rs's open row group (same bound) and the compressed bytes of the
 * output file being written (FileIO uploads whole objects; at most about the target file size).
 * None of it grows with the partition: a 10 GB day is read and written file by file.
 *
 * Sort: by the table's sort order (Floe declares `site_id`, `event_time`). A full sort of a large
 * partition would need a merge of sorted runs on disk; instead the inputs are read in the order of
 * their lower bound on the sort's leading non-constant column (from the manifest metrics) and each
 * batch is sorted. Floe's flush files each cover a short, later time range, so the output is sorted
 * except where a batch boundary splits late events; row-group min/max on `event_time` are tight
 * either way, which is what lets engines skip row groups. A file is marked with the sort order's id
 * (`sort_order_id`) only when one batch held all of its rows, i.e. when it really is sorted.
 */
import type { Row } from '../rows.ts'
import type { IcebergSchema, PartitionSpec, SortOrder } from '../table/metadata.ts'
import type { FileIO } from '../storage/file-io.ts'
import { encodeParquetBatches } from '../write/parquet.ts'
import { fileMetrics } from '../write/metrics.ts'
import type { DataFile } from '../write/manifest.ts'
import { partitionPath, type BoundPartitionField, type PartitionTuple } from '../write/partition.ts'
import { rowGroups } from './read-rows.ts'
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
}

export interface RewriteOutput {
  files: DataFile[]
  /** URIs written (for cleanup if the commit fails definitely). */
  written: string[]
}

type Compare = (a: Row, b: Row) => number

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

/** The little-endian long in a bound (timestamps, longs), or undefined. */
function lowerBoundOf(f: LiveFile, fieldId: number): bigint | string | undefined {
  const b = f.entry.data_file.lower_bounds?.find((x) => x.key === fieldId)?.value
  if (!b) return undefined
  if (b.length === 8) return b.readBigInt64LE(0)
  return b.toString('utf8')
}

/** Input order: by the lower bound of the first sort column that is not constant in the group. */
function orderInputs(files: readonly LiveFile[], order: SortOrder): LiveFile[] {
  for (const f of order.fields as SortField[]) {
    const bounds = files.map((x) => lowerBoundOf(x, f['source-id']))
    if (bounds.some((b) => b === undefined)) continue
    if (new Set(bounds.map(String)).size <= 1) continue
    return files
      .map((x, i) => ({ x, b: bounds[i]! }))
      .sort((p, q) => (p.b < q.b ? -1 : p.b > q.b ? 1 : 0))
      .map((p) => p.x)
  }
  return [...files]
}

export async function rewriteGroup(input: RewriteInput): Promise<RewriteOutput> {
  const { io, schema, group, batchRows } = input
  const compare = sortComparator(input.sortOrder, schema)
  const inputs = orderInputs(group.files, input.sortOrder)
  const perFile = Math.ceil(group.records / group.outputFiles)

  // One cursor over every input row, row group by row group.
  async function* inputRows(): AsyncGenerator<Row[]> {
    for (const f of inputs) {
      const bytes = await io.read(f.path)
      for await (const rows of rowGroups(bytes, schema)) yield rows
    }
  }
  const source = inputRows()
  let pending: Row[] = []
  let exhausted = false
  /** Up to `n` rows from the cursor. */
  async function take(n: number): Promise<Row[]> {
    while (pending.length < n && !exhausted) {
      const next = await source.next()
      if (next.done) exhausted = true
      else pending = pending.length ? pending.concat(next.value) : next.value
    }
    const out = pending.slice(0, n)
    pending = pending.slice(n)
    return out
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
      let batches = 0
      async function* batchesOf(): AsyncGenerator<Row[]> {
        while (remaining > 0) {
          const rows = await take(Math.min(batchRows, remaining))
          if (rows.length === 0) return
          remaining -= rows.length
          rowsWritten += rows.length
          batches++
          if (compare) rows.sort(compare)
          yield rows
        }
      }
      const bytes = await encodeParquetBatches(schema, batchesOf(), { rowGroupSize: batchRows })
      if (batches === 0) break
      const uri = `${dir}/${String(input.groupIndex).padStart(5, '0')}-0-${input.commitId}-${String(n + 1).padStart(5, '0')}.parquet`
      await io.write(uri, bytes)
      written.push(uri)
      const sorted = compare !== undefined && batches === 1
      files.push({
        ...fileMetrics(bytes, schema, input.properties),
        filePath: uri,
        specId: input.spec['spec-id'],
        partition: tuple,
        ...(sorted ? { sortOrderId: input.sortOrder['order-id'] } : {}),
      })
    }
    // Never lose a row: what was written must be exactly what the group's manifests count.
    if (rowsWritten !== group.records || pending.length > 0 || !(await source.next()).done)
      throw new Error(
        `compaction of ${group.partitionKey}: read ${rowsWritten} rows, manifests count ${group.records}`,
      )
  } catch (err) {
    await Promise.allSettled(written.map((u) => io.delete(u)))
    throw err
  }
  return { files, written }
}

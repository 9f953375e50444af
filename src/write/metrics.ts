/**
 * Per-file Iceberg metrics (manifest `data_file` fields 103-110, 125, 128, 132) read back from the
 * Parquet footer we just wrote, keyed by Iceberg field id — the same source Java's
 * `ParquetMetrics`/PyIceberg use, so numbers agree with what other engines would write.
 *
 * Map key/value columns get a column size and nothing else, as Iceberg Java 1.12 writes them
 * (`ParquetMetrics`: its metrics visitor returns no field metrics under a map, "repeated fields are
 * not currently supported", while `columnSizes` covers every leaf column with an id). Earlier Floe
 * versions reported entry counts there (Parquet's level counts minus the null/empty maps); the
 * engines suite compares every manifest with Java's `ParquetUtil.fileMetrics` on the same footer
 * (test/engines/iceberg-java-read.test.ts), and counts Java leaves out are counts a reader could
 * trust differently. Their metrics mode is that of their full column name (`event_data.key`), as
 * Java's `MetricsUtil.metricsMode` looks it up.
 *
 * Metrics modes (`write.metadata.metrics.default`, `write.metadata.metrics.column.<name>`):
 * `none`, `counts`, `truncate(N)` (default `truncate(16)`), `full`. NaN counts are not written:
 * arrow-rs does not record them and Floe's tables have no float columns.
 */
import { parquetMetadata } from 'hyparquet'
import type { FileMetaData, SchemaElement } from 'hyparquet'
import type { IcebergField, IcebergPrimitive, IcebergSchema } from '../table/metadata.ts'
import {
  encodeBound,
  truncateBinaryMax,
  truncateBinaryMin,
  truncateStringMax,
  truncateStringMin,
} from './bounds.ts'

export interface FileMetrics {
  recordCount: bigint
  fileSizeInBytes: bigint
  columnSizes: Map<number, bigint>
  valueCounts: Map<number, bigint>
  nullValueCounts: Map<number, bigint>
  lowerBounds: Map<number, Uint8Array>
  upperBounds: Map<number, Uint8Array>
  /** Row-group start offsets, ascending. */
  splitOffsets: bigint[]
}

type MetricsMode =
  { kind: 'none' } | { kind: 'counts' } | { kind: 'full' } | { kind: 'truncate'; length: number }

export function parseMetricsMode(text: string): MetricsMode {
  const t = text.trim().toLowerCase()
  if (t === 'none' || t === 'counts' || t === 'full') return { kind: t }
  const m = /^truncate\((\d+)\)$/.exec(t)
  if (m && Number(m[1]) > 0) return { kind: 'truncate', length: Number(m[1]) }
  throw new Error(`invalid metrics mode "${text}"`)
}

function modeFor(name: string, properties: Record<string, string>): MetricsMode {
  const text =
    properties[`write.metadata.metrics.column.${name}`] ?? properties['write.metadata.metrics.default']
  return parseMetricsMode(text ?? 'truncate(16)')
}

/** Parsers that keep raw values: microseconds as bigint, days as number, strings as bytes. */
const RAW_PARSERS = {
  timestampFromMicroseconds: (v: bigint) => v,
  timestampFromMilliseconds: (v: bigint) => v * 1000n,
  timestampFromNanoseconds: (v: bigint) => v / 1000n,
  dateFromDays: (v: number) => v,
  stringFromBytes: (v: Uint8Array) => v,
}

/** Iceberg field id of each leaf column, in the footer's column order. */
function leafFieldIds(schema: SchemaElement[]): (number | undefined)[] {
  const ids: (number | undefined)[] = []
  let i = 1 // schema[0] is the root
  const walk = (): void => {
    const el = schema[i++]
    if (el.num_children) for (let c = 0; c < el.num_children; c++) walk()
    else ids.push(el.field_id)
  }
  while (i < schema.length) walk()
  return ids
}

type Raw = bigint | number | boolean | Uint8Array

function compare(a: Raw, b: Raw): number {
  if (a instanceof Uint8Array && b instanceof Uint8Array) return Buffer.compare(a, b)
  return a < b ? -1 : a > b ? 1 : 0
}

const decoder = new TextDecoder()

function lowerBound(type: IcebergPrimitive, v: Raw, mode: MetricsMode): Uint8Array | undefined {
  if (mode.kind === 'truncate' && type === 'string') {
    return encodeBound('string', truncateStringMin(decoder.decode(v as Uint8Array), mode.length))
  }
  if (mode.kind === 'truncate' && type === 'binary') return truncateBinaryMin(v as Uint8Array, mode.length)
  return encodeBound(type, v as bigint)
}

function upperBound(type: IcebergPrimitive, v: Raw, mode: MetricsMode): Uint8Array | undefined {
  if (mode.kind === 'truncate' && type === 'string') {
    const s = truncateStringMax(decoder.decode(v as Uint8Array), mode.length)
    return s === undefined ? undefined : encodeBound('string', s)
  }
  if (mode.kind === 'truncate' && type === 'binary') return truncateBinaryMax(v as Uint8Array, mode.length)
  return encodeBound(type, v as bigint)
}

/**
 * Compute metrics of a Parquet file written by `encodeParquet` for `schema`. Only the footer is
 * read, so `bytes` may be just the end of the file (from a streamed write; see `ParquetTail`),
 * with `fileSize` the whole file's length.
 */
export function fileMetrics(
  bytes: Uint8Array,
  schema: IcebergSchema,
  properties: Record<string, string> = {},
  fileSize: number = bytes.byteLength,
): FileMetrics {
  const ab = bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer
  const footer: FileMetaData = parquetMetadata(ab, { parsers: RAW_PARSERS })
  const ids = leafFieldIds(footer.schema)

  const topLevel = new Map<number, IcebergField>()
  const mapLeaves = new Map<number, { mapField: IcebergField; role: 'key' | 'value' }>()
  for (const f of schema.fields) {
    topLevel.set(f.id, f)
    if (typeof f.type === 'object') {
      mapLeaves.set(f.type['key-id'], { mapField: f, role: 'key' })
      mapLeaves.set(f.type['value-id'], { mapField: f, role: 'value' })
    }
  }

  const columnSizes = new Map<number, bigint>()
  const numValues = new Map<number, bigint>()
  const nullCounts = new Map<number, bigint>()
  const mins = new Map<number, Raw>()
  const maxs = new Map<number, Raw>()
  // The Parquet writer cuts long string statistics (to 64 bytes) and says so: such a value is a
  // valid lower bound, but a cut max is *below* the real one. Truncate mode re-truncates and
  // increments it, which is still a true upper bound; `full` promises exact values, so there the
  // inexact bound is left out (readers then simply do not prune on it).
  const inexact = new Set<number>()
  const splitOffsets: bigint[] = []

  for (const rg of footer.row_groups) {
    let start: bigint | undefined
    rg.columns.forEach((chunk, c) => {
      const md = chunk.meta_data
      const id = ids[c]
      if (!md || id === undefined) return
      const first = md.dictionary_page_offset ?? md.data_page_offset
      if (start === undefined || first < start) start = first
      columnSizes.set(id, (columnSizes.get(id) ?? 0n) + md.total_compressed_size)
      numValues.set(id, (numValues.get(id) ?? 0n) + md.num_values)
      const st = md.statistics
      if (st?.null_count !== undefined) nullCounts.set(id, (nullCounts.get(id) ?? 0n) + BigInt(st.null_count))
      if (st?.is_max_value_exact === false || st?.is_min_value_exact === false) inexact.add(id)
      const lo = (st?.min_value ?? st?.min) as Raw | undefined
      const hi = (st?.max_value ?? st?.max) as Raw | undefined
      if (lo !== undefined && lo !== null) {
        const prev = mins.get(id)
        if (prev === undefined || compare(lo, prev) < 0) mins.set(id, lo)
      }
      if (hi !== undefined && hi !== null) {
        const prev = maxs.get(id)
        if (prev === undefined || compare(hi, prev) > 0) maxs.set(id, hi)
      }
    })
    if (start !== undefined) splitOffsets.push(start)
  }

  const valueCounts = new Map<number, bigint>()
  const nullValueCounts = new Map<number, bigint>()
  const lowerBounds = new Map<number, Uint8Array>()
  const upperBounds = new Map<number, Uint8Array>()
  const sizes = new Map<number, bigint>()

  for (const [id, size] of columnSizes) {
    const field = topLevel.get(id)
    const leaf = mapLeaves.get(id)
    if (!field && !leaf) continue
    const name = field ? field.name : `${leaf!.mapField.name}.${leaf!.role}`
    const mode = modeFor(name, properties)
    if (mode.kind === 'none') continue
    sizes.set(id, size)
    if (field) {
      valueCounts.set(id, numValues.get(id)!)
      if (nullCounts.has(id)) nullValueCounts.set(id, nullCounts.get(id)!)
      if (mode.kind === 'counts' || typeof field.type === 'object') continue
      if (mode.kind === 'full' && inexact.has(id)) continue
      const lo = mins.get(id)
      const hi = maxs.get(id)
      const lb = lo === undefined ? undefined : lowerBound(field.type, lo, mode)
      const ub = hi === undefined ? undefined : upperBound(field.type, hi, mode)
      if (lb) lowerBounds.set(id, lb)
      if (ub) upperBounds.set(id, ub)
    }
  }

  return {
    recordCount: footer.num_rows,
    fileSizeInBytes: BigInt(fileSize),
    columnSizes: sizes,
    valueCounts,
    nullValueCounts,
    lowerBounds,
    upperBounds,
    splitOffsets,
  }
}

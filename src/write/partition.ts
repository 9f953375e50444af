/**
 * Partition transforms (`identity`, `day`; the Iceberg spec), partition paths and grouping rows by
 * partition, so each flush writes one data file per partition.
 */
import type { Row } from '../rows.ts'
import type { IcebergPrimitive, IcebergSchema, IcebergType, PartitionSpec } from '../table/metadata.ts'

/** A partition tuple value: days (number) for `day`, the source value for `identity`, or null. */
export type PartitionValue = number | string | bigint | boolean | null

/** Partition tuple in spec field order. */
export type PartitionTuple = PartitionValue[]

const MICROS_PER_DAY = 86_400_000_000

/** `day` of a timestamp in microseconds: floor division, so pre-1970 instants go to the earlier day. */
export function dayFromMicros(micros: number | bigint): number {
  if (typeof micros === 'bigint') {
    const d = micros / 86_400_000_000n
    return Number(micros < 0n && d * 86_400_000_000n !== micros ? d - 1n : d)
  }
  return Math.floor(micros / MICROS_PER_DAY)
}

/** `yyyy-MM-dd` of days since epoch (Java `Days.toHumanString`). */
export function dayToHuman(days: number): string {
  return new Date(days * 86_400_000).toISOString().slice(0, 10)
}

/** Result type of a transform on a source type, for manifest schemas and summary bounds. */
export function transformResultType(transform: string, source: IcebergType): IcebergPrimitive {
  if (transform === 'identity') {
    if (typeof source === 'object') throw new Error('identity partition on a map column is not allowed')
    return source
  }
  // Java Days.getResultType → DateType (spec clarified in apache/iceberg#16414).
  if (transform === 'day') return 'date'
  throw new Error(`unsupported partition transform "${transform}" (Floe supports identity and day)`)
}

export interface BoundPartitionField {
  name: string
  fieldId: number
  sourceName: string
  transform: 'identity' | 'day'
  sourceType: IcebergType
  resultType: IcebergPrimitive
}

/** Resolve a spec's fields against the schema (source column names and result types). */
export function bindSpec(spec: PartitionSpec, schema: IcebergSchema): BoundPartitionField[] {
  return spec.fields.map((pf) => {
    const source = schema.fields.find((f) => f.id === pf['source-id'])
    if (!source) throw new Error(`partition field ${pf.name}: source id ${pf['source-id']} not in schema`)
    const resultType = transformResultType(pf.transform, source.type)
    return {
      name: pf.name,
      fieldId: pf['field-id'],
      sourceName: source.name,
      transform: pf.transform as 'identity' | 'day',
      sourceType: source.type,
      resultType,
    }
  })
}

export function applyTransform(field: BoundPartitionField, value: unknown): PartitionValue {
  if (value === null || value === undefined) return null
  if (field.transform === 'day') {
    if (field.sourceType === 'date') return value as number
    return dayFromMicros(value as number | bigint)
  }
  return value as PartitionValue
}

export function partitionTuple(fields: readonly BoundPartitionField[], row: Row): PartitionTuple {
  return fields.map((f) => applyTransform(f, row[f.sourceName]))
}

/** Java `URLEncoder.encode(s, UTF_8)`: space → `+`, unreserved `*-._` kept, everything else %XX. */
function formEncode(s: string): string {
  return encodeURIComponent(s)
    .replace(/[!'()~]/g, (c) => '%' + c.charCodeAt(0).toString(16).toUpperCase())
    .replace(/%20/g, '+')
}

function humanString(field: BoundPartitionField, value: PartitionValue): string {
  if (value === null) return 'null'
  if (field.transform === 'day') return dayToHuman(value as number)
  return String(value)
}

/** `event_time_day=2026-11-24/site_id=<uuid>` (Java `PartitionSpec.partitionToPath`). */
export function partitionPath(fields: readonly BoundPartitionField[], tuple: PartitionTuple): string {
  return fields.map((f, i) => `${formEncode(f.name)}=${formEncode(humanString(f, tuple[i]))}`).join('/')
}

export interface PartitionGroup {
  tuple: PartitionTuple
  path: string
  rows: Row[]
}

/** Group rows by partition tuple, in first-seen order (one data file per group). */
export function groupByPartition(
  fields: readonly BoundPartitionField[],
  rows: readonly Row[],
): PartitionGroup[] {
  const groups = new Map<string, PartitionGroup>()
  for (const row of rows) {
    const tuple = partitionTuple(fields, row)
    // Keyed by the tuple's JSON, not the path: the path spells null and the string "null" alike.
    const key = JSON.stringify(tuple, (_k, v: unknown) => (typeof v === 'bigint' ? `${v}n` : v))
    let g = groups.get(key)
    if (!g) {
      g = { tuple, path: partitionPath(fields, tuple), rows: [] }
      groups.set(key, g)
    }
    g.rows.push(row)
  }
  return [...groups.values()]
}

/**
 * Iceberg table metadata (format v2) as a typed object. 64-bit ids (snapshot ids, sequence numbers)
 * are `bigint` here and are written/read with BigInt-safe JSON (see `json.ts`), because other
 * engines (Trino OPTIMIZE, expire_snapshots) write ids above 2^53 into the same tables.
 *
 * Builders: `newTableMetadata()` here; `addAppendSnapshot()` in `snapshot.ts`; file naming and
 * (de)serialisation in `metadata-file.ts` / `json.ts`.
 */

export interface IcebergField {
  id: number
  name: string
  required: boolean
  type: IcebergType
  doc?: string
}

export type IcebergPrimitive =
  | 'boolean'
  | 'int'
  | 'long'
  | 'float'
  | 'double'
  | 'date'
  | 'timestamp'
  | 'timestamptz'
  | 'string'
  | 'uuid'
  | 'binary'

export interface IcebergMapType {
  type: 'map'
  'key-id': number
  key: IcebergType
  'value-id': number
  value: IcebergType
  'value-required': boolean
}

export type IcebergType = IcebergPrimitive | IcebergMapType

export interface IcebergSchema {
  type: 'struct'
  'schema-id': number
  fields: IcebergField[]
  'identifier-field-ids'?: number[]
}

export interface PartitionField {
  name: string
  transform: string
  'source-id': number
  'field-id': number
}

export interface PartitionSpec {
  'spec-id': number
  fields: PartitionField[]
}

export interface SortOrder {
  'order-id': number
  fields: unknown[]
}

export interface Snapshot {
  'snapshot-id': bigint
  'parent-snapshot-id'?: bigint
  'sequence-number': bigint
  'timestamp-ms': bigint
  'manifest-list': string
  summary: Record<string, string>
  'schema-id'?: number
}

export interface SnapshotRef {
  'snapshot-id': bigint
  type: 'branch' | 'tag'
  [key: string]: unknown
}

export interface TableMetadata {
  'format-version': 2
  'table-uuid': string
  location: string
  'last-sequence-number': bigint
  'last-updated-ms': bigint
  'last-column-id': number
  'current-schema-id': number
  schemas: IcebergSchema[]
  'default-spec-id': number
  'partition-specs': PartitionSpec[]
  'last-partition-id': number
  'default-sort-order-id': number
  'sort-orders': SortOrder[]
  properties: Record<string, string>
  'current-snapshot-id': bigint
  refs: Record<string, SnapshotRef>
  snapshots: Snapshot[]
  statistics: unknown[]
  'partition-statistics': unknown[]
  'snapshot-log': { 'timestamp-ms': bigint; 'snapshot-id': bigint }[]
  'metadata-log': { 'timestamp-ms': bigint; 'metadata-file': string }[]
  /** Keys written by other engines that Floe does not model; kept verbatim on rewrite. */
  [key: string]: unknown
}

/** A table definition from `schemas/<name>.json`. */
export interface TableDefinition {
  name: string
  schema: IcebergSchema
  'last-column-id': number
  'partition-spec': PartitionSpec
  'sort-order': SortOrder
  properties: Record<string, string>
}

/** Java's `PARTITION_DATA_ID_START - 1`: `last-partition-id` of an unpartitioned table. */
const UNPARTITIONED_LAST_PARTITION_ID = 999

/**
 * Initial v2 metadata of a new table (no snapshot yet) with every required key, in Java's key order.
 * `location` is the table's base URI without a trailing `/`.
 */
export function newTableMetadata(
  def: TableDefinition,
  location: string,
  tableUuid: string,
  nowMs: bigint = BigInt(Date.now()),
): TableMetadata {
  const spec = def['partition-spec']
  return {
    'format-version': 2,
    'table-uuid': tableUuid,
    location: location.replace(/\/+$/, ''),
    'last-sequence-number': 0n,
    'last-updated-ms': nowMs,
    'last-column-id': def['last-column-id'],
    'current-schema-id': def.schema['schema-id'],
    schemas: [structuredClone(def.schema)],
    'default-spec-id': spec['spec-id'],
    'partition-specs': [structuredClone(spec)],
    'last-partition-id': spec.fields.reduce(
      (m, f) => Math.max(m, f['field-id']),
      UNPARTITIONED_LAST_PARTITION_ID,
    ),
    'default-sort-order-id': def['sort-order']['order-id'],
    // The unsorted order 0 is kept next to a declared one: Floe's flush files are unsorted
    // (`sort_order_id` 0); only compaction writes files sorted by the declared order.
    'sort-orders':
      def['sort-order']['order-id'] === 0
        ? [structuredClone(def['sort-order'])]
        : [{ 'order-id': 0, fields: [] }, structuredClone(def['sort-order'])],
    properties: { ...def.properties },
    'current-snapshot-id': -1n,
    refs: {},
    snapshots: [],
    statistics: [],
    'partition-statistics': [],
    'snapshot-log': [],
    'metadata-log': [],
  }
}

/** The schema with `current-schema-id`. */
export function currentSchema(metadata: TableMetadata): IcebergSchema {
  const s = metadata.schemas.find((x) => x['schema-id'] === metadata['current-schema-id'])
  if (!s) throw new Error(`table metadata: current schema ${metadata['current-schema-id']} not found`)
  return s
}

/** The partition spec with `default-spec-id`. */
export function defaultSpec(metadata: TableMetadata): PartitionSpec {
  const s = metadata['partition-specs'].find((x) => x['spec-id'] === metadata['default-spec-id'])
  if (!s) throw new Error(`table metadata: default spec ${metadata['default-spec-id']} not found`)
  return s
}

/** The current snapshot, or undefined for a table without snapshots (`current-snapshot-id` -1/null). */
export function currentSnapshot(metadata: TableMetadata): Snapshot | undefined {
  const id = metadata['current-snapshot-id']
  if (id === undefined || id === null || id === -1n) return undefined
  return metadata.snapshots.find((s) => s['snapshot-id'] === id)
}

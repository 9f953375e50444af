/**
 * Table updates (the Iceberg REST spec's `TableUpdate`, Java's `MetadataUpdate`) and the ONE pure
 * function that applies them to table metadata, `applyUpdates`. Every commit Floe makes or accepts
 * goes through it: the append path, maintenance (snapshot expiry, compaction), each metastore
 * catalog (jdbc, glue, hadoop, via `metastore.ts`) and Floe's REST endpoint. The rules follow Java's
 * `TableMetadata.Builder`:
 *
 * - `add-snapshot`: the id must be new, the sequence number after `last-sequence-number`
 *   (else CommitConflictError: the writer built on an old table); it becomes the last sequence number.
 * - `set-snapshot-ref`: the snapshot must exist; moving `main` sets `current-snapshot-id` and
 *   appends to `snapshot-log`.
 * - `remove-snapshots`: drops the snapshots, refs that pointed at them, their statistics, and the
 *   snapshot-log entries up to the last removed one (Java's `updateSnapshotLog`).
 * - `remove-snapshot-ref`; `set-properties`; `remove-properties`.
 * - `add-schema` (an identical schema is reused, as Java's `reuseOrCreateNewSchemaId`; otherwise the
 *   next id) and `set-current-schema` (-1 = the one added last): schema evolution (schema-evolution.ts).
 * - With `previousMetadataLocation` (metastore catalogs and the REST endpoint pass the file the
 *   base was read from), `metadata-log` gains that file and is trimmed to
 *   `write.metadata.previous-versions-max` (default 100), exactly as Java's `addPreviousFile`.
 *
 * Other known actions (spec evolution, statistics, encryption) are UnsupportedUpdateError;
 * keys of the metadata that Floe does not model are carried over unchanged.
 */
import { CommitConflictError, InvalidCommitError, UnsupportedUpdateError } from '../errors.ts'
import type { IcebergSchema, Snapshot, SnapshotRef, TableMetadata } from './metadata.ts'
import { asLong } from './requirements.ts'

export type TableUpdate =
  | { action: 'add-snapshot'; snapshot: Snapshot }
  | {
      action: 'set-snapshot-ref'
      'ref-name': string
      type: 'branch' | 'tag'
      'snapshot-id': bigint
      'max-ref-age-ms'?: bigint
      'max-snapshot-age-ms'?: bigint
      'min-snapshots-to-keep'?: number
    }
  | { action: 'remove-snapshots'; 'snapshot-ids': bigint[] }
  | { action: 'remove-snapshot-ref'; 'ref-name': string }
  | { action: 'set-properties'; updates: Record<string, string> }
  | { action: 'remove-properties'; removals: string[] }
  /** A new schema; `last-column-id` raises the table's (never lowers it). */
  | { action: 'add-schema'; schema: IcebergSchema; 'last-column-id'?: number }
  /** `schema-id` -1 = the schema added last in this commit. */
  | { action: 'set-current-schema'; 'schema-id': number }

export interface ApplyOptions {
  /** The metadata file `base` was read from: goes into `metadata-log` (omit for in-memory use). */
  previousMetadataLocation?: string
  /** Clock (default Date.now()); `last-updated-ms` is always after the base's. */
  nowMs?: bigint
}

/** The TableUpdate actions of the Iceberg REST spec (1.x): known, so unsupported ones get 406. */
export const KNOWN_UPDATE_ACTIONS: ReadonlySet<string> = new Set([
  'assign-uuid',
  'upgrade-format-version',
  'add-schema',
  'set-current-schema',
  'add-spec',
  'set-default-spec',
  'add-sort-order',
  'set-default-sort-order',
  'add-snapshot',
  'set-snapshot-ref',
  'remove-snapshots',
  'remove-snapshot-ref',
  'set-location',
  'set-properties',
  'remove-properties',
  'set-statistics',
  'remove-statistics',
  'set-partition-statistics',
  'remove-partition-statistics',
  'remove-partition-specs',
  'remove-schemas',
  'add-encryption-key',
  'remove-encryption-key',
])

/** Java's default of `write.metadata.previous-versions-max`. */
export const DEFAULT_PREVIOUS_VERSIONS_MAX = 100

type Json = Record<string, unknown>
const isObject = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v)

/** A spec `Snapshot` object, typed and checked. */
export function parseSnapshot(v: unknown): Snapshot {
  const bad = (m: string) => new InvalidCommitError(`add-snapshot: ${m}`)
  if (!isObject(v)) throw bad('snapshot must be an object')
  const id = asLong(v['snapshot-id'])
  const ts = asLong(v['timestamp-ms'])
  const seq = asLong(v['sequence-number'])
  const hasParent = v['parent-snapshot-id'] !== undefined && v['parent-snapshot-id'] !== null
  const parent = hasParent ? asLong(v['parent-snapshot-id']) : undefined
  if (id === undefined || id <= 0n) throw bad('snapshot.snapshot-id must be a positive long')
  if (ts === undefined) throw bad('snapshot.timestamp-ms must be a long')
  if (seq === undefined) throw bad('snapshot.sequence-number is required for format v2')
  if (hasParent && parent === undefined) throw bad('snapshot.parent-snapshot-id must be a long')
  if (typeof v['manifest-list'] !== 'string' || v['manifest-list'] === '')
    throw bad('snapshot.manifest-list must be a file location')
  const summary = v.summary
  if (!isObject(summary) || typeof summary.operation !== 'string')
    throw bad('snapshot.summary.operation is required')
  if (Object.values(summary).some((x) => typeof x !== 'string'))
    throw bad('snapshot.summary values must be strings')
  const snapshot: Snapshot = {
    'snapshot-id': id,
    'sequence-number': seq,
    'timestamp-ms': ts,
    'manifest-list': v['manifest-list'],
    summary: summary as Record<string, string>,
  }
  if (parent !== undefined) snapshot['parent-snapshot-id'] = parent
  if (typeof v['schema-id'] === 'number') snapshot['schema-id'] = v['schema-id']
  return snapshot
}

const stringMap = (v: unknown, what: string): Record<string, string> => {
  if (!isObject(v) || Object.values(v).some((x) => typeof x !== 'string'))
    throw new InvalidCommitError(`${what} must be an object of strings`)
  return v as Record<string, string>
}

/**
 * Request JSON → typed updates. Malformed → InvalidCommitError (400); a known action Floe does not
 * implement → UnsupportedUpdateError (406); an unknown action → InvalidCommitError (the spec: 400).
 */
export function parseUpdates(input: unknown[]): TableUpdate[] {
  return input.map((u): TableUpdate => {
    if (!isObject(u) || typeof u.action !== 'string')
      throw new InvalidCommitError('updates: each needs an "action"')
    switch (u.action) {
      case 'add-snapshot':
        return { action: 'add-snapshot', snapshot: parseSnapshot(u.snapshot) }
      case 'set-snapshot-ref': {
        const id = asLong(u['snapshot-id'])
        if (typeof u['ref-name'] !== 'string' || u['ref-name'] === '')
          throw new InvalidCommitError('set-snapshot-ref: ref-name must be a string')
        if (u.type !== 'branch' && u.type !== 'tag')
          throw new InvalidCommitError('set-snapshot-ref: type must be "branch" or "tag"')
        if (id === undefined) throw new InvalidCommitError('set-snapshot-ref: snapshot-id must be a long')
        const out: TableUpdate = {
          action: 'set-snapshot-ref',
          'ref-name': u['ref-name'],
          type: u.type,
          'snapshot-id': id,
        }
        for (const k of ['max-ref-age-ms', 'max-snapshot-age-ms'] as const) {
          const v = asLong(u[k])
          if (v !== undefined) out[k] = v
        }
        if (typeof u['min-snapshots-to-keep'] === 'number')
          out['min-snapshots-to-keep'] = u['min-snapshots-to-keep']
        return out
      }
      case 'remove-snapshots': {
        const ids = Array.isArray(u['snapshot-ids']) ? u['snapshot-ids'].map(asLong) : undefined
        if (!ids || ids.some((x) => x === undefined))
          throw new InvalidCommitError('remove-snapshots: snapshot-ids must be an array of longs')
        return { action: 'remove-snapshots', 'snapshot-ids': ids as bigint[] }
      }
      case 'remove-snapshot-ref':
        if (typeof u['ref-name'] !== 'string')
          throw new InvalidCommitError('remove-snapshot-ref: ref-name must be a string')
        return { action: 'remove-snapshot-ref', 'ref-name': u['ref-name'] }
      case 'set-properties':
        return { action: 'set-properties', updates: stringMap(u.updates, 'set-properties: updates') }
      case 'add-schema': {
        const schema = u.schema
        if (!isObject(schema) || schema.type !== 'struct' || !Array.isArray(schema.fields))
          throw new InvalidCommitError('add-schema: schema must be a struct with fields')
        const last = u['last-column-id']
        if (last !== undefined && (typeof last !== 'number' || !Number.isInteger(last)))
          throw new InvalidCommitError('add-schema: last-column-id must be an integer')
        return {
          action: 'add-schema',
          schema: schema as unknown as IcebergSchema,
          ...(last !== undefined ? { 'last-column-id': last } : {}),
        }
      }
      case 'set-current-schema':
        if (typeof u['schema-id'] !== 'number' || !Number.isInteger(u['schema-id']))
          throw new InvalidCommitError('set-current-schema: schema-id must be an integer')
        return { action: 'set-current-schema', 'schema-id': u['schema-id'] }
      case 'remove-properties':
        if (!Array.isArray(u.removals) || u.removals.some((x) => typeof x !== 'string'))
          throw new InvalidCommitError('remove-properties: removals must be an array of strings')
        return { action: 'remove-properties', removals: u.removals as string[] }
      default:
        if (KNOWN_UPDATE_ACTIONS.has(u.action))
          throw new UnsupportedUpdateError(`update "${u.action}" is not supported by Floe`)
        throw new InvalidCommitError(`unknown update action "${u.action}"`)
    }
  })
}

/** `nowMs`, or just after `base`'s last update: Java rejects metadata older than its base. */
export function nextTimestamp(base: Pick<TableMetadata, 'last-updated-ms'>, nowMs: bigint): bigint {
  const last = BigInt(base['last-updated-ms'])
  return nowMs > last ? nowMs : last + 1n
}

/** `write.metadata.previous-versions-max` of `properties` (Java: at least 1). */
export function previousVersionsMax(properties: Record<string, string> | undefined): number {
  const v = Number(properties?.['write.metadata.previous-versions-max'] ?? DEFAULT_PREVIOUS_VERSIONS_MAX)
  return Number.isInteger(v) ? Math.max(1, v) : DEFAULT_PREVIOUS_VERSIONS_MAX
}

/**
 * The metadata after `updates`, in order, on `base` (which is not modified). Throws
 * InvalidCommitError for an update that cannot apply, CommitConflictError for a snapshot built on
 * an older table, UnsupportedUpdateError for an action Floe does not implement.
 */
export function applyUpdates(
  base: TableMetadata,
  updates: readonly TableUpdate[],
  options: ApplyOptions = {},
): TableMetadata {
  const now = options.nowMs ?? BigInt(Date.now())
  const snapshots = new Map<bigint, Snapshot>()
  for (const s of base.snapshots ?? []) snapshots.set(BigInt(s['snapshot-id']), s)
  const added = new Set<bigint>()
  const refs: Record<string, SnapshotRef> = { ...(base.refs ?? {}) }
  let properties: Record<string, string> = { ...(base.properties ?? {}) }
  let lastSequence = BigInt(base['last-sequence-number'])
  let currentId = asLong(base['current-snapshot-id']) ?? -1n
  let lastUpdated: bigint | undefined
  const snapshotLog = [...(base['snapshot-log'] ?? [])]
  let removed = false
  let schemas = base.schemas
  let currentSchemaId = base['current-schema-id']
  let lastColumnId = base['last-column-id']
  let lastAddedSchemaId: number | undefined

  for (const u of updates) {
    switch (u.action) {
      case 'add-snapshot': {
        const s = u.snapshot
        const id = s['snapshot-id']
        if (snapshots.has(id)) throw new InvalidCommitError(`snapshot ${id} already exists`)
        if (s['sequence-number'] <= lastSequence)
          throw new CommitConflictError(
            `sequence number ${s['sequence-number']} is not after the table's last sequence number ${lastSequence}: rebuild on the current table`,
          )
        snapshots.set(id, s)
        added.add(id)
        lastSequence = s['sequence-number']
        lastUpdated = s['timestamp-ms']
        break
      }
      case 'set-snapshot-ref': {
        const id = u['snapshot-id']
        if (!snapshots.has(id))
          throw new InvalidCommitError(
            `set-snapshot-ref: ${u['ref-name']} cannot point at unknown snapshot ${id}`,
          )
        if (u['ref-name'] === 'main' && u.type !== 'branch')
          throw new InvalidCommitError('set-snapshot-ref: main must be a branch')
        const { action: _a, 'ref-name': name, ...ref } = u
        const existing = refs[name]
        if (existing && existing['snapshot-id'] === id && existing.type === u.type) {
          refs[name] = { ...existing, ...ref }
          break
        }
        refs[name] = { ...ref }
        if (added.has(id)) lastUpdated = snapshots.get(id)!['timestamp-ms']
        if (name === 'main') {
          currentId = id
          lastUpdated ??= nextTimestamp(base, now)
          snapshotLog.push({ 'timestamp-ms': lastUpdated, 'snapshot-id': id })
        }
        break
      }
      case 'remove-snapshots': {
        for (const id of u['snapshot-ids']) if (snapshots.delete(id)) removed = true
        // Java's removeSnapshots: refs to removed snapshots go too.
        for (const [name, ref] of Object.entries(refs))
          if (!snapshots.has(BigInt(ref['snapshot-id']))) {
            delete refs[name]
            if (name === 'main') currentId = -1n
          }
        break
      }
      case 'remove-snapshot-ref':
        if (refs[u['ref-name']] !== undefined) {
          delete refs[u['ref-name']]
          if (u['ref-name'] === 'main') currentId = -1n
        }
        break
      case 'set-properties':
        properties = { ...properties, ...u.updates }
        break
      case 'remove-properties':
        properties = { ...properties }
        for (const k of u.removals) delete properties[k]
        break
      case 'add-schema': {
        schemas ??= []
        const same = schemas.find((s) => sameFields(s, u.schema))
        const maxId = (f: IcebergSchema['fields'][number]) =>
          typeof f.type === 'object' ? Math.max(f.id, f.type['key-id'], f.type['value-id']) : f.id
        const highest = Math.max(lastColumnId, u['last-column-id'] ?? 0, ...u.schema.fields.map(maxId))
        lastColumnId = highest
        if (same) {
          lastAddedSchemaId = same['schema-id']
          break
        }
        const id = Math.max(...schemas.map((s) => s['schema-id'])) + 1
        schemas = [...schemas, { ...u.schema, 'schema-id': id }]
        lastAddedSchemaId = id
        break
      }
      case 'set-current-schema': {
        const id = u['schema-id'] === -1 ? lastAddedSchemaId : u['schema-id']
        if (id === undefined)
          throw new InvalidCommitError('set-current-schema: -1 needs an add-schema earlier in the commit')
        if (!(schemas ?? []).some((s) => s['schema-id'] === id))
          throw new InvalidCommitError(`set-current-schema: unknown schema id ${id}`)
        currentSchemaId = id
        break
      }
      default:
        throw new UnsupportedUpdateError(
          `update "${(u as { action: string }).action}" is not supported by Floe`,
        )
    }
  }

  // Java's updateSnapshotLog: an entry whose snapshot is gone invalidates the history before it.
  let log = snapshotLog
  if (removed) {
    log = []
    for (const e of snapshotLog) {
      if (snapshots.has(BigInt(e['snapshot-id']))) log.push(e)
      else log = []
    }
  }
  const keepStats = (list: unknown) =>
    ((list as { 'snapshot-id'?: unknown }[] | undefined) ?? []).filter((st) => {
      const id = asLong(st['snapshot-id'])
      return id === undefined || snapshots.has(id)
    })

  let metadataLog = base['metadata-log'] ?? []
  if (options.previousMetadataLocation !== undefined) {
    const max = previousVersionsMax(properties)
    metadataLog = [
      ...metadataLog.slice(Math.max(0, metadataLog.length - max + 1)),
      { 'timestamp-ms': base['last-updated-ms'], 'metadata-file': options.previousMetadataLocation },
    ]
  }
  return {
    ...base,
    ...(schemas !== base.schemas ||
    lastColumnId !== base['last-column-id'] ||
    currentSchemaId !== base['current-schema-id']
      ? { 'last-column-id': lastColumnId, 'current-schema-id': currentSchemaId, schemas }
      : {}),
    'last-sequence-number': lastSequence,
    'last-updated-ms': nextTimestamp(base, lastUpdated ?? now),
    properties,
    'current-snapshot-id': currentId,
    refs,
    snapshots: [...snapshots.values()],
    statistics: removed ? keepStats(base.statistics) : (base.statistics ?? []),
    'partition-statistics': removed
      ? keepStats(base['partition-statistics'])
      : (base['partition-statistics'] ?? []),
    'snapshot-log': log,
    'metadata-log': metadataLog,
  }
}

/** Same fields (ids, names, types, required) in the same order: Java reuses such a schema's id. */
function sameFields(a: IcebergSchema, b: IcebergSchema): boolean {
  return (
    a.fields.length === b.fields.length &&
    a.fields.every(
      (f, i) =>
        f.id === b.fields[i].id &&
        f.name === b.fields[i].name &&
        f.required === b.fields[i].required &&
        JSON.stringify(f.type) === JSON.stringify(b.fields[i].type),
    )
  )
}

/**
 * The REST commit endpoint's logic (`POST /v1/{prefix}/namespaces/{ns}/tables/{table}`, body
 * `CommitTableRequest`), as pure functions over table metadata:
 *
 * 1. `checkRequirements`: every requirement against the *current* metadata; a failed one is 409
 *    CommitFailedException (the client reloads and rebuilds on the new parent), an unknown type 400.
 * 2. `appendFromUpdates`: Floe's server applies appends only (exactly what Floe's, PyIceberg's and
 *    Java's append send: `add-snapshot` + `set-snapshot-ref` of `main`); anything else is 406.
 *
 * The caller then applies the snapshot exactly as sent with the write side's `applySnapshot`
 * (snapshot.ts, the one place the log-keeping rules live) and commits through the backing
 * catalog's compare-and-swap, which catches writers that moved the table in between.
 */
import type { Snapshot, TableMetadata } from '../write/metadata.ts'
import { badRequest, commitFailed, unsupported } from './rest-errors.ts'

type Json = Record<string, unknown>

const isObject = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v)

/** Integer (number or bigint) → bigint; anything else → undefined. */
function asLong(v: unknown): bigint | undefined {
  if (typeof v === 'bigint') return v
  if (typeof v === 'number' && Number.isInteger(v)) return BigInt(v)
  return undefined
}

function intField(req: Json, key: string): number {
  const v = req[key]
  if (typeof v !== 'number' || !Number.isInteger(v))
    throw badRequest(`${String(req.type)}: ${key} must be an integer`)
  return v
}

/** Current snapshot id of `ref` in `metadata`, or undefined when the ref does not exist. */
function refSnapshotId(metadata: TableMetadata, ref: string): bigint | undefined {
  const r = metadata.refs?.[ref]
  if (r !== undefined) return BigInt(r['snapshot-id'])
  // v2 metadata written before refs existed: `main` is the current snapshot.
  const current = asLong(metadata['current-snapshot-id'])
  return ref === 'main' && current !== undefined && current !== -1n ? current : undefined
}

/**
 * Check every requirement against `current` (undefined when the table does not exist).
 * Throws IcebergRestError: 409 CommitFailedException when one is not met, 400 when malformed.
 */
export function checkRequirements(current: TableMetadata | undefined, requirements: unknown[]): void {
  for (const req of requirements) {
    if (!isObject(req) || typeof req.type !== 'string') throw badRequest('requirements: each needs a "type"')
    if (req.type === 'assert-create') {
      if (current !== undefined) throw commitFailed('Requirement failed: table already exists')
      continue
    }
    if (current === undefined) throw commitFailed(`Requirement failed: table does not exist (${req.type})`)
    const fail = (what: string, expected: unknown, actual: unknown): never => {
      throw commitFailed(
        `Requirement failed: ${what} changed: expected ${String(expected)} != ${String(actual)}`,
      )
    }
    switch (req.type) {
      case 'assert-table-uuid': {
        if (typeof req.uuid !== 'string') throw badRequest('assert-table-uuid: uuid must be a string')
        if (req.uuid.toLowerCase() !== current['table-uuid'].toLowerCase())
          fail('table UUID', req.uuid, current['table-uuid'])
        break
      }
      case 'assert-ref-snapshot-id': {
        if (typeof req.ref !== 'string') throw badRequest('assert-ref-snapshot-id: ref must be a string')
        if (!('snapshot-id' in req))
          throw badRequest('assert-ref-snapshot-id: snapshot-id is required (may be null)')
        const expected = req['snapshot-id'] === null ? undefined : asLong(req['snapshot-id'])
        if (req['snapshot-id'] !== null && expected === undefined)
          throw badRequest('assert-ref-snapshot-id: snapshot-id must be an integer or null')
        const actual = refSnapshotId(current, req.ref)
        if (expected !== actual) {
          if (expected === undefined)
            throw commitFailed(`Requirement failed: branch or tag ${req.ref} was created concurrently`)
          if (actual === undefined)
            throw commitFailed(
              `Requirement failed: branch or tag ${req.ref} is missing, expected ${expected}`,
            )
          fail(`branch ${req.ref}`, expected, actual)
        }
        break
      }
      case 'assert-last-assigned-field-id':
        if (intField(req, 'last-assigned-field-id') !== current['last-column-id'])
          fail('last assigned field id', req['last-assigned-field-id'], current['last-column-id'])
        break
      case 'assert-current-schema-id':
        if (intField(req, 'current-schema-id') !== current['current-schema-id'])
          fail('current schema id', req['current-schema-id'], current['current-schema-id'])
        break
      case 'assert-last-assigned-partition-id':
        if (intField(req, 'last-assigned-partition-id') !== current['last-partition-id'])
          fail('last assigned partition id', req['last-assigned-partition-id'], current['last-partition-id'])
        break
      case 'assert-default-spec-id':
        if (intField(req, 'default-spec-id') !== current['default-spec-id'])
          fail('default spec id', req['default-spec-id'], current['default-spec-id'])
        break
      case 'assert-default-sort-order-id':
        if (intField(req, 'default-sort-order-id') !== current['default-sort-order-id'])
          fail('default sort order id', req['default-sort-order-id'], current['default-sort-order-id'])
        break
      default:
        throw badRequest(`unknown requirement type "${req.type}"`)
    }
  }
}

/** The one snapshot an append commit adds, typed and checked (spec `Snapshot`). */
export function parseSnapshot(v: unknown): Snapshot {
  if (!isObject(v)) throw badRequest('add-snapshot: snapshot must be an object')
  const id = asLong(v['snapshot-id'])
  const ts = asLong(v['timestamp-ms'])
  const seq = asLong(v['sequence-number'])
  const parent =
    v['parent-snapshot-id'] === undefined || v['parent-snapshot-id'] === null
      ? undefined
      : asLong(v['parent-snapshot-id'])
  if (id === undefined || id <= 0n)
    throw badRequest('add-snapshot: snapshot.snapshot-id must be a positive long')
  if (ts === undefined) throw badRequest('add-snapshot: snapshot.timestamp-ms must be a long')
  if (seq === undefined) throw badRequest('add-snapshot: snapshot.sequence-number is required for format v2')
  if (v['parent-snapshot-id'] !== undefined && v['parent-snapshot-id'] !== null && parent === undefined)
    throw badRequest('add-snapshot: snapshot.parent-snapshot-id must be a long')
  if (typeof v['manifest-list'] !== 'string' || v['manifest-list'] === '')
    throw badRequest('add-snapshot: snapshot.manifest-list must be a file location')
  const summary = v.summary
  if (!isObject(summary) || typeof summary.operation !== 'string')
    throw badRequest('add-snapshot: snapshot.summary.operation is required')
  if (Object.values(summary).some((x) => typeof x !== 'string'))
    throw badRequest('add-snapshot: snapshot.summary values must be strings')
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

/** The TableUpdate actions of the Iceberg REST spec (1.x): known, so unsupported ones get 406. */
const KNOWN_UPDATE_ACTIONS = new Set([
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

/**
 * The append an update list describes: one `add-snapshot` whose snapshot `main` then points at.
 * Floe's tables are append-only through this endpoint; other updates get 406 with the reason.
 */
export function appendFromUpdates(updates: unknown[]): Snapshot {
  let snapshot: Snapshot | undefined
  let mainRef: bigint | undefined
  for (const u of updates) {
    if (!isObject(u) || typeof u.action !== 'string') throw badRequest('updates: each needs an "action"')
    if (u.action === 'add-snapshot') {
      if (snapshot !== undefined) throw unsupported('only one add-snapshot per commit is supported')
      snapshot = parseSnapshot(u.snapshot)
    } else if (u.action === 'set-snapshot-ref') {
      if (u['ref-name'] !== 'main' || u.type !== 'branch')
        throw unsupported('set-snapshot-ref: only the main branch can be moved through Floe')
      mainRef = asLong(u['snapshot-id'])
      if (mainRef === undefined) throw badRequest('set-snapshot-ref: snapshot-id must be a long')
    } else if (KNOWN_UPDATE_ACTIONS.has(u.action)) {
      throw unsupported(
        `update "${u.action}" is not supported: Floe's REST endpoint accepts appends only (add-snapshot + set-snapshot-ref main)`,
      )
    } else {
      // The spec: servers must reject unknown updates with 400 (406 is for known, unsupported ones).
      throw badRequest(`unknown update action "${u.action}"`)
    }
  }
  if (snapshot === undefined)
    throw unsupported('commit must add a snapshot (add-snapshot); nothing else is supported')
  if (mainRef !== snapshot['snapshot-id'])
    throw unsupported('the added snapshot must become main (set-snapshot-ref main to the added snapshot id)')
  const operation = snapshot.summary.operation
  if (operation !== 'append')
    throw unsupported(`snapshot operation "${operation}" is not supported; only append`)
  return snapshot
}

/** Checks an append snapshot against the metadata it lands on (Java's TableMetadata.Builder rules). */
export function validateAppendOn(current: TableMetadata, snapshot: Snapshot): void {
  if ((current.snapshots ?? []).some((s) => BigInt(s['snapshot-id']) === snapshot['snapshot-id']))
    throw badRequest(`snapshot ${snapshot['snapshot-id']} already exists`)
  const last = BigInt(current['last-sequence-number'])
  if (snapshot['sequence-number'] <= last)
    throw commitFailed(
      `sequence number ${snapshot['sequence-number']} is not after the table's last sequence number ${last}: rebuild on the current table`,
    )
}

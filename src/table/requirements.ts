/**
 * Table requirements (the Iceberg REST spec's `TableRequirement`, Java's `UpdateRequirement`):
 * assertions about the table a commit was built on. A catalog checks them against the table's
 * *current* metadata right before it applies the updates; one that fails means another writer
 * changed what this commit depends on, so the writer must reload and rebuild
 * (CommitConflictError; 409 CommitFailedException on the REST endpoint).
 *
 * `parseRequirements` turns request JSON into these types (InvalidCommitError for a malformed one),
 * `checkRequirements` is the one check used by every metastore catalog and Floe's REST endpoint.
 */
import { CommitConflictError, InvalidCommitError } from '../errors.ts'
import type { TableMetadata } from './metadata.ts'

export type TableRequirement =
  | { type: 'assert-create' }
  | { type: 'assert-table-uuid'; uuid: string }
  /** `snapshot-id: null` = the ref must not exist (first commit of a branch). */
  | { type: 'assert-ref-snapshot-id'; ref: string; 'snapshot-id': bigint | null }
  | { type: 'assert-last-assigned-field-id'; 'last-assigned-field-id': number }
  | { type: 'assert-current-schema-id'; 'current-schema-id': number }
  | { type: 'assert-last-assigned-partition-id'; 'last-assigned-partition-id': number }
  | { type: 'assert-default-spec-id'; 'default-spec-id': number }
  | { type: 'assert-default-sort-order-id'; 'default-sort-order-id': number }

type Json = Record<string, unknown>
const isObject = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v)

/** Integer (number or bigint) → bigint; anything else → undefined. */
export function asLong(v: unknown): bigint | undefined {
  if (typeof v === 'bigint') return v
  if (typeof v === 'number' && Number.isInteger(v)) return BigInt(v)
  return undefined
}

/** Current snapshot id of `ref`, or undefined when the ref does not exist. */
export function refSnapshotId(metadata: TableMetadata, ref: string): bigint | undefined {
  const r = metadata.refs?.[ref]
  if (r !== undefined) return BigInt(r['snapshot-id'])
  // v2 metadata written before refs existed: `main` is the current snapshot.
  const current = asLong(metadata['current-snapshot-id'])
  return ref === 'main' && current !== undefined && current !== -1n ? current : undefined
}

const INT_REQUIREMENTS = {
  'assert-last-assigned-field-id': 'last-assigned-field-id',
  'assert-current-schema-id': 'current-schema-id',
  'assert-last-assigned-partition-id': 'last-assigned-partition-id',
  'assert-default-spec-id': 'default-spec-id',
  'assert-default-sort-order-id': 'default-sort-order-id',
} as const

/** Request JSON → typed requirements. Throws InvalidCommitError naming what is malformed. */
export function parseRequirements(input: unknown[]): TableRequirement[] {
  return input.map((req) => {
    if (!isObject(req) || typeof req.type !== 'string')
      throw new InvalidCommitError('requirements: each needs a "type"')
    switch (req.type) {
      case 'assert-create':
        return { type: 'assert-create' }
      case 'assert-table-uuid':
        if (typeof req.uuid !== 'string')
          throw new InvalidCommitError('assert-table-uuid: uuid must be a string')
        return { type: 'assert-table-uuid', uuid: req.uuid }
      case 'assert-ref-snapshot-id': {
        if (typeof req.ref !== 'string')
          throw new InvalidCommitError('assert-ref-snapshot-id: ref must be a string')
        if (!('snapshot-id' in req))
          throw new InvalidCommitError('assert-ref-snapshot-id: snapshot-id is required (may be null)')
        const id = req['snapshot-id'] === null ? null : asLong(req['snapshot-id'])
        if (id === undefined)
          throw new InvalidCommitError('assert-ref-snapshot-id: snapshot-id must be an integer or null')
        return { type: 'assert-ref-snapshot-id', ref: req.ref, 'snapshot-id': id }
      }
      default: {
        const key = INT_REQUIREMENTS[req.type as keyof typeof INT_REQUIREMENTS]
        if (key === undefined) throw new InvalidCommitError(`unknown requirement type "${req.type}"`)
        const v = req[key]
        if (typeof v !== 'number' || !Number.isInteger(v))
          throw new InvalidCommitError(`${req.type}: ${key} must be an integer`)
        return { type: req.type, [key]: v } as TableRequirement
      }
    }
  })
}

const CURRENT_VALUE: Record<keyof typeof INT_REQUIREMENTS, [what: string, key: string]> = {
  'assert-last-assigned-field-id': ['last assigned field id', 'last-column-id'],
  'assert-current-schema-id': ['current schema id', 'current-schema-id'],
  'assert-last-assigned-partition-id': ['last assigned partition id', 'last-partition-id'],
  'assert-default-spec-id': ['default spec id', 'default-spec-id'],
  'assert-default-sort-order-id': ['default sort order id', 'default-sort-order-id'],
}

/**
 * Check every requirement against `current` (undefined when the table does not exist).
 * Throws CommitConflictError (with Java's "Requirement failed: …" wording) on the first unmet one.
 */
export function checkRequirements(
  current: TableMetadata | undefined,
  requirements: readonly TableRequirement[],
): void {
  for (const req of requirements) {
    if (req.type === 'assert-create') {
      if (current !== undefined) throw new CommitConflictError('Requirement failed: table already exists')
      continue
    }
    if (current === undefined)
      throw new CommitConflictError(`Requirement failed: table does not exist (${req.type})`)
    const fail = (what: string, expected: unknown, actual: unknown): never => {
      throw new CommitConflictError(
        `Requirement failed: ${what} changed: expected ${String(expected)} != ${String(actual)}`,
      )
    }
    switch (req.type) {
      case 'assert-table-uuid':
        if (req.uuid.toLowerCase() !== String(current['table-uuid']).toLowerCase())
          fail('table UUID', req.uuid, current['table-uuid'])
        break
      case 'assert-ref-snapshot-id': {
        const expected = req['snapshot-id'] ?? undefined
        const actual = refSnapshotId(current, req.ref)
        if (expected === actual) break
        if (expected === undefined)
          throw new CommitConflictError(
            `Requirement failed: branch or tag ${req.ref} was created concurrently`,
          )
        if (actual === undefined)
          throw new CommitConflictError(
            `Requirement failed: branch or tag ${req.ref} is missing, expected ${expected}`,
          )
        fail(`branch ${req.ref}`, expected, actual)
        break
      }
      default: {
        const key = INT_REQUIREMENTS[req.type]
        const [what, currentKey] = CURRENT_VALUE[req.type]
        const expected = (req as Record<string, unknown>)[key]
        if (expected !== current[currentKey]) fail(what, expected, current[currentKey])
      }
    }
  }
}

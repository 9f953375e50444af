/**
 * Adding columns to an existing table (Iceberg schema evolution), as requirements + updates for the
 * one commit core: `add-schema` (the current schema plus the new optional columns, under the field
 * ids the writer's definition gives them) and `set-current-schema -1` (the schema just added), on
 * `assert-current-schema-id` + `assert-last-assigned-field-id`, exactly what Java's
 * `SchemaUpdate.commit()` sends through `UpdateRequirements.forUpdateTable`.
 *
 * Data files written before the change simply lack the columns; every reader takes a column whose
 * field id is absent from a file as null (the spec's column projection rule). Only optional columns
 * can be added that way: a required one would have no value in the old files.
 */
import { TableSchemaConflictError } from '../errors.ts'
import type { IcebergField, IcebergSchema, IcebergType, TableMetadata } from './metadata.ts'
import { currentSchema } from './metadata.ts'
import type { TableRequirement } from './requirements.ts'
import type { TableUpdate } from './updates.ts'

/** Every field id a type uses (a map's key and value ids included). */
export function fieldIds(id: number, type: IcebergType): number[] {
  return typeof type === 'object' ? [id, type['key-id'], type['value-id']] : [id]
}

/** Fields of `wanted` (by name) that `schema` lacks. */
export function missingColumns(schema: IcebergSchema, wanted: readonly IcebergField[]): IcebergField[] {
  const have = new Set(schema.fields.map((f) => f.name))
  return wanted.filter((f) => !have.has(f.name))
}

/**
 * The commit that adds `wanted`'s missing columns to `metadata`'s current schema, or undefined when
 * none is missing. Throws TableSchemaConflictError (naming the column) when a missing column is
 * required, or its field id is already assigned in this table (another engine added columns and
 * used the ids; the writer's files would then mean something else under them).
 */
export function addColumnsCommit(
  table: string,
  metadata: TableMetadata,
  wanted: readonly IcebergField[],
): { requirements: TableRequirement[]; updates: TableUpdate[] } | undefined {
  const current = currentSchema(metadata)
  const missing = missingColumns(current, wanted)
  if (missing.length === 0) return undefined
  const lastColumnId = metadata['last-column-id']
  for (const f of missing) {
    if (f.required)
      throw new TableSchemaConflictError(
        table,
        f.name,
        'a required column cannot be added to a table that already has rows',
      )
    if (fieldIds(f.id, f.type).some((id) => id <= lastColumnId))
      throw new TableSchemaConflictError(
        table,
        f.name,
        `its field id ${f.id} is already assigned in this table (last-column-id ${lastColumnId}); add the column with another engine or rename the conflicting one`,
      )
  }
  const schemaId = Math.max(...metadata.schemas.map((s) => s['schema-id'])) + 1
  const schema: IcebergSchema = {
    ...structuredClone(current),
    'schema-id': schemaId,
    fields: [...structuredClone(current.fields), ...structuredClone(missing)],
  }
  const newLast = Math.max(lastColumnId, ...missing.flatMap((f) => fieldIds(f.id, f.type)))
  return {
    requirements: [
      { type: 'assert-table-uuid', uuid: metadata['table-uuid'] },
      { type: 'assert-current-schema-id', 'current-schema-id': metadata['current-schema-id'] },
      { type: 'assert-last-assigned-field-id', 'last-assigned-field-id': lastColumnId },
    ],
    updates: [
      { action: 'add-schema', schema, 'last-column-id': newLast },
      { action: 'set-current-schema', 'schema-id': -1 },
    ],
  }
}

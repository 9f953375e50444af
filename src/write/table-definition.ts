/**
 * Floe's table definitions (`schemas/pa_events.json`, `schemas/pa_sessions.json`): schema with
 * field ids, partition spec, sort order and properties, as data so other engines' views of the
 * tables and Floe's writer come from one source.
 */
import { readFileSync } from 'node:fs'
import type { TableName } from '../rows.ts'
import { TABLE_NAMES } from '../rows.ts'
import type { IcebergType, TableDefinition } from '../table/metadata.ts'

const SCHEMAS_DIR = new URL('../../schemas/', import.meta.url)

function maxFieldId(type: IcebergType, id: number): number {
  if (typeof type === 'object') return Math.max(id, type['key-id'], type['value-id'])
  return id
}

/** Check the invariants the writer relies on; throws naming the definition. */
export function checkTableDefinition(def: TableDefinition): TableDefinition {
  const ids = new Set<number>()
  let max = 0
  for (const f of def.schema.fields) {
    for (const id of typeof f.type === 'object' ? [f.id, f.type['key-id'], f.type['value-id']] : [f.id]) {
      if (ids.has(id)) throw new Error(`table definition ${def.name}: duplicate field id ${id}`)
      ids.add(id)
    }
    max = Math.max(max, maxFieldId(f.type, f.id))
  }
  if (def['last-column-id'] !== max) {
    throw new Error(
      `table definition ${def.name}: last-column-id ${def['last-column-id']} != max field id ${max}`,
    )
  }
  for (const pf of def['partition-spec'].fields) {
    if (!def.schema.fields.some((f) => f.id === pf['source-id'])) {
      throw new Error(`table definition ${def.name}: partition field ${pf.name} has unknown source-id`)
    }
    if (pf['field-id'] < 1000)
      throw new Error(`table definition ${def.name}: partition field ids start at 1000`)
  }
  return def
}

/** Load one table definition from a JSON file (default: `schemas/<name>.json` of this repo). */
export function loadTableDefinition(
  name: string,
  file: URL | string = new URL(`${name}.json`, SCHEMAS_DIR),
): TableDefinition {
  const def = JSON.parse(readFileSync(file, 'utf8')) as TableDefinition
  if (def.name !== name)
    throw new Error(`table definition file ${String(file)} defines ${def.name}, not ${name}`)
  return checkTableDefinition(def)
}

/** Definitions of all Floe tables. */
export function loadTableDefinitions(): Record<TableName, TableDefinition> {
  const out = {} as Record<TableName, TableDefinition>
  for (const name of TABLE_NAMES) out[name] = loadTableDefinition(name)
  return out
}

/**
 * Write routes of Floe's Iceberg REST endpoint, behind `ICEBERG_REST_WRITE_ENABLED`: create
 * namespace, create table and append commits. They let Floe's own REST catalog client (and
 * PyIceberg/Java appends) run against Floe, and they commit through the same backing `Catalog`
 * (its compare-and-swap decides races), so this is not a second source of truth.
 *
 * Deliberately narrow: appends only (see table-commit.ts); no drop, rename, schema evolution,
 * staged creates or multi-table transactions. Such requests get 406 UnsupportedOperationException.
 */
import { randomUUID } from 'node:crypto'
import type { FastifyInstance } from 'fastify'
import type { LoadedTable, TableIdentifier } from '../table/catalog.ts'
import { defaultTableLocation } from '../commit/jdbc.ts'
import { assertUnder } from '../commit/identifier.ts'
import type { IcebergSchema, PartitionSpec, SortOrder, TableDefinition } from '../table/metadata.ts'
import { newTableMetadata } from '../table/metadata.ts'
import { parseRequirements } from '../table/requirements.ts'
import { parseUpdates } from '../table/updates.ts'
import { decodeNamespace, namespaceExists } from './namespace.ts'
import type { Catalog } from '../table/catalog.ts'
import type { FileIO } from '../storage/file-io.ts'
import { alreadyExists, badRequest, noSuchNamespace, noSuchTable, unsupported } from './rest-errors.ts'
import { appendFromUpdates } from './table-commit.ts'

export const WRITE_ENDPOINTS = [
  'POST /v1/{prefix}/namespaces',
  'POST /v1/{prefix}/namespaces/{namespace}/tables',
  'POST /v1/{prefix}/namespaces/{namespace}/tables/{table}',
] as const

const createNamespaceBody = {
  type: 'object',
  required: ['namespace'],
  properties: {
    namespace: {
      type: 'array',
      minItems: 1,
      items: { type: 'string', minLength: 1, pattern: '^[^.\\x1f]+$' },
    },
    properties: { type: 'object', additionalProperties: { type: 'string' } },
  },
} as const

// Ids inside `schema` are small ints; ajv sees plain numbers there (json.ts makes bigints only of longs).
const createTableBody = {
  type: 'object',
  required: ['name', 'schema'],
  properties: {
    name: { type: 'string', minLength: 1, pattern: '^[^/\\x1f]+$' },
    location: { type: 'string', minLength: 1 },
    schema: {
      type: 'object',
      required: ['type', 'fields'],
      properties: { type: { const: 'struct' }, fields: { type: 'array', minItems: 1 } },
    },
    'partition-spec': { type: 'object', required: ['fields'], properties: { fields: { type: 'array' } } },
    'write-order': { type: 'object', required: ['fields'], properties: { fields: { type: 'array' } } },
    'stage-create': { type: 'boolean' },
    properties: { type: 'object', additionalProperties: { type: 'string' } },
  },
} as const

// Requirement/update contents carry 63-bit ids as bigint, which ajv cannot type: table-commit.ts
// checks them field by field.
const commitBody = {
  type: 'object',
  required: ['requirements', 'updates'],
  properties: {
    identifier: { type: 'object', required: ['namespace', 'name'] },
    requirements: { type: 'array', items: { type: 'object' } },
    updates: { type: 'array', items: { type: 'object' } },
  },
} as const

interface CreateTableRequest {
  name: string
  location?: string
  schema: IcebergSchema
  'partition-spec'?: Partial<PartitionSpec>
  'write-order'?: Partial<SortOrder>
  'stage-create'?: boolean
  properties?: Record<string, string>
}

interface CommitTableRequest {
  identifier?: TableIdentifier
  requirements: unknown[]
  updates: unknown[]
}

/** Highest field id anywhere in the schema (map key/value ids included): `last-column-id`. */
export function maxFieldId(schema: IcebergSchema): number {
  let max = 0
  const visit = (type: unknown): void => {
    if (typeof type !== 'object' || type === null) return
    const t = type as Record<string, unknown>
    for (const k of ['key-id', 'value-id', 'element-id'])
      if (typeof t[k] === 'number') max = Math.max(max, t[k] as number)
    if (Array.isArray(t.fields))
      for (const f of t.fields as { id?: unknown; type?: unknown }[]) {
        if (typeof f.id !== 'number') throw badRequest('schema: every field needs an integer id')
        max = Math.max(max, f.id)
        visit(f.type)
      }
    visit(t.key)
    visit(t.value)
    visit(t.element)
  }
  visit(schema)
  return max
}

/**
 * The table definition a CreateTableRequest describes. Field ids are kept as sent (Floe's client
 * sends its canonical ids; Java servers would renumber): the schema becomes schema 0, the spec
 * spec 0 with partition field ids from 1000 where missing, the write order order 0 (or unsorted).
 */
export function definitionFromRequest(req: CreateTableRequest): TableDefinition {
  const specFields = (req['partition-spec']?.fields ?? []).map((f, i) => ({
    ...f,
    'field-id': f['field-id'] ?? 1000 + i,
  }))
  const order = req['write-order']
  const sortOrder: SortOrder =
    order && (order.fields ?? []).length > 0
      ? { 'order-id': order['order-id'] || 1, fields: order.fields ?? [] }
      : { 'order-id': 0, fields: [] }
  return {
    name: req.name,
    schema: { ...req.schema, 'schema-id': 0 },
    'last-column-id': maxFieldId(req.schema),
    'partition-spec': { 'spec-id': 0, fields: specFields },
    'sort-order': sortOrder,
    properties: req.properties ?? {},
  }
}

const loadResult = (t: LoadedTable, config: Record<string, string>) => ({
  'metadata-location': t.metadataLocation,
  metadata: t.metadata,
  config,
})

/** What the write routes need of the endpoint's options (`IcebergRestOptions` in rest-catalog.ts). */
export interface WriteRouteOptions {
  catalog: Catalog
  io: FileIO
  writeEnabled: boolean
  /** Warehouse root URI: default location of created tables. */
  warehouse: string
  /** The storage `config` of load-table responses. */
  storageConfig: Record<string, string>
}

export function registerWriteRoutes(app: FastifyInstance, opts: WriteRouteOptions): void {
  const { catalog, io } = opts
  const requireWrites = (): void => {
    if (!opts.writeEnabled)
      throw unsupported(
        'this Floe serves its Iceberg catalog read-only; set ICEBERG_REST_WRITE_ENABLED=true to allow writes',
      )
  }

  app.post<{ Body: { namespace: string[]; properties?: Record<string, string> } }>(
    '/v1/namespaces',
    { schema: { body: createNamespaceBody } },
    async (request) => {
      requireWrites()
      const { namespace, properties = {} } = request.body
      if (Object.keys(properties).length > 0)
        throw unsupported('namespace properties are not supported by Floe; create the namespace without them')
      if (namespaceExists(await catalog.listNamespaces(), namespace))
        throw alreadyExists(`Namespace already exists: ${namespace.join('.')}`)
      await catalog.createNamespaceIfAbsent(namespace)
      return { namespace, properties: {} }
    },
  )

  app.post<{ Params: { namespace: string }; Body: CreateTableRequest }>(
    '/v1/namespaces/:namespace/tables',
    { schema: { body: createTableBody } },
    async (request) => {
      requireWrites()
      const ns = decodeNamespace(request.params.namespace)
      const req = request.body
      if (req['stage-create'] === true)
        throw unsupported(
          'staged table creation (stage-create=true, CTAS/RTAS transactions) is not supported',
        )
      if (!namespaceExists(await catalog.listNamespaces(), ns)) throw noSuchNamespace(ns)
      const id: TableIdentifier = { namespace: ns, name: req.name }
      if ((await catalog.loadTable(id)) !== undefined)
        throw alreadyExists(`Table already exists: ${[...ns, req.name].join('.')}`)
      const location = (req.location ?? defaultTableLocation(opts.warehouse, id)).replace(/\/+$/, '')
      // A client-chosen location must stay in the warehouse, where Floe's FileIO may write.
      assertUnder(location, opts.warehouse)
      const metadata = newTableMetadata(definitionFromRequest(req), location, randomUUID())
      const created = await catalog.createTableIfAbsent(id, metadata)
      // Another creator won the race between our check and the catalog's insert.
      if (created.metadata['table-uuid'] !== metadata['table-uuid'])
        throw alreadyExists(`Table already exists: ${[...ns, req.name].join('.')}`)
      return loadResult(created, opts.storageConfig)
    },
  )

  app.post<{ Params: { namespace: string; table: string }; Body: CommitTableRequest }>(
    '/v1/namespaces/:namespace/tables/:table',
    { schema: { body: commitBody } },
    async (request) => {
      requireWrites()
      const id: TableIdentifier = {
        namespace: decodeNamespace(request.params.namespace),
        name: request.params.table,
      }
      const { identifier, requirements, updates } = request.body
      if (
        identifier !== undefined &&
        (identifier.name !== id.name || identifier.namespace.join('\x1f') !== id.namespace.join('\x1f'))
      )
        throw badRequest('identifier does not match the table in the path')
      const reqs = parseRequirements(requirements)
      const parsed = parseUpdates(updates)
      const base = await catalog.loadTable(id)
      if (base === undefined) {
        if (reqs.some((r) => r.type === 'assert-create'))
          throw unsupported(
            'create-table transactions (assert-create) are not supported; create the table first',
          )
        throw noSuchTable(id.namespace, id.name)
      }
      const snapshot = appendFromUpdates(parsed)
      // A snapshot whose manifest list is missing would make the table unreadable for everyone.
      if (!(await io.exists(snapshot['manifest-list'])))
        throw badRequest(
          `add-snapshot: manifest list ${snapshot['manifest-list']} does not exist in the warehouse`,
        )
      // The backing catalog checks the requirements against its current metadata and applies the
      // updates with the commit core; its compare-and-swap turns a writer that moved the table in
      // between into CommitConflictError → 409.
      const committed = await catalog.commit(id, reqs, parsed, { base })
      request.log.info(
        { table: id.name, snapshotId: String(snapshot['snapshot-id']) },
        'iceberg rest: append committed',
      )
      return { 'metadata-location': committed.metadataLocation, metadata: committed.metadata }
    },
  )
}

/**
 * Floe's Iceberg REST catalog endpoint (`open-api/rest-catalog-open-api.yaml`), so that Trino
 * (`iceberg.catalog.type=rest`), Spark, PyIceberg, DuckDB and iceberg-js attach to Floe's tables
 * directly, whatever catalog type Floe itself writes through: every route reads through the same
 * `Catalog` the writer commits to.
 *
 * Register with a prefix (`app.register(icebergRestPlugin, { prefix: '/iceberg', ... })`); clients
 * then use `uri=http://host:8080/iceberg`. The catalog has no `{prefix}`: paths are `/v1/namespaces…`.
 *
 * Scope (encapsulated, so none of this leaks into the receiver's routes): Bearer-token check, a
 * BigInt-safe JSON body parser and reply serializer (snapshot ids are 63-bit; see docs/decisions.md),
 * and errors in the protocol's `IcebergErrorResponse` shape. Write routes live in `rest-write.ts`.
 */
import type { FastifyInstance, FastifyPluginAsync } from 'fastify'
import type { Catalog } from '../table/catalog.ts'
import type { S3Config } from '../config.ts'
import { ConfigError } from '../errors.ts'
import type { FileIO } from '../storage/file-io.ts'
import { parseJson, stringifyJson } from '../table/json.ts'
import type { Snapshot, TableMetadata } from '../table/metadata.ts'
import { checkName } from '../commit/identifier.ts'
import { childNamespaces, decodeNamespace, namespaceExists } from './namespace.ts'
import { checkBearer, oauthTokenHandler } from './rest-auth.ts'
import { noSuchNamespace, noSuchTable, toIcebergError, errorBody } from './rest-errors.ts'
import { registerWriteRoutes, WRITE_ENDPOINTS } from './rest-write.ts'
import { readerStorageConfig } from './storage-config.ts'

export interface IcebergRestOptions {
  catalog: Catalog
  io: FileIO
  /** `ICEBERG_REST_READ_TOKEN`; undefined leaves the endpoint open (local development only). */
  readToken?: string
  /** `ICEBERG_REST_WRITE_ENABLED`: create namespace/table and append commits. Requires `readToken`. */
  writeEnabled: boolean
  /** Warehouse root URI (`file:///…` or `s3://bucket/prefix`): default location of created tables. */
  warehouse: string
  /** Floe's S3 settings, for the storage `config` of load-table responses. */
  s3?: S3Config
  /** What readers get instead of Floe's own S3 endpoint/keys (see storage-config.ts). */
  readerS3?: { endpoint?: string; accessKeyId?: string; secretAccessKey?: string }
}

/** Every route served, in the spec's `"<VERB> <path template>"` form (CatalogConfig.endpoints). */
export const READ_ENDPOINTS = [
  'GET /v1/{prefix}/namespaces',
  'GET /v1/{prefix}/namespaces/{namespace}',
  'HEAD /v1/{prefix}/namespaces/{namespace}',
  'GET /v1/{prefix}/namespaces/{namespace}/tables',
  'GET /v1/{prefix}/namespaces/{namespace}/tables/{table}',
  'HEAD /v1/{prefix}/namespaces/{namespace}/tables/{table}',
] as const

const nsParams = {
  type: 'object',
  required: ['namespace'],
  properties: { namespace: { type: 'string', minLength: 1 } },
} as const
const tableParams = {
  type: 'object',
  required: ['namespace', 'table'],
  properties: { namespace: { type: 'string', minLength: 1 }, table: { type: 'string', minLength: 1 } },
} as const
const listQuery = {
  type: 'object',
  properties: { parent: { type: 'string' }, pageToken: { type: 'string' }, pageSize: { type: 'integer' } },
} as const
const loadQuery = {
  type: 'object',
  properties: { snapshots: { type: 'string', enum: ['all', 'refs'] } },
} as const

type NsParams = { namespace: string }
type TableParams = { namespace: string; table: string }

/** `snapshots=refs`: only the snapshots some branch or tag points at (spec: loadTable). */
export function onlyReferencedSnapshots(metadata: TableMetadata): TableMetadata {
  const referenced = new Set(Object.values(metadata.refs ?? {}).map((r) => BigInt(r['snapshot-id'])))
  const snapshots = (metadata.snapshots ?? []).filter((s: Snapshot) =>
    referenced.has(BigInt(s['snapshot-id'])),
  )
  return { ...metadata, snapshots }
}

function installProtocol(app: FastifyInstance, readToken: string | undefined): void {
  // Bodies and replies as BigInt-safe JSON: ids above 2^53 survive both ways.
  app.removeContentTypeParser('application/json')
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (_req, body, done) => {
    try {
      done(null, parseJson(body as string))
    } catch (err) {
      done(err as Error, undefined)
    }
  })
  // OAuth2 token requests are form-encoded (RFC 6749 §4.4.2).
  app.addContentTypeParser('application/x-www-form-urlencoded', { parseAs: 'string' }, (_req, body, done) => {
    done(null, Object.fromEntries(new URLSearchParams(body as string)))
  })
  app.setReplySerializer((payload) => stringifyJson(payload))

  // Decided by the route that matched, never by the raw URL: `/v1/config#/v1/oauth/tokens` is
  // routed to /v1/config, and a URL test would let it through without a token.
  app.addHook('onRequest', async (request) => {
    if (request.routeOptions.config?.icebergPublic === true) return
    checkBearer(request, readToken)
  })
  // Names in the path are checked once for every route, before any handler (or catalog) sees them:
  // `..%2F..%2Foutside` is decoded by then and would otherwise become a storage path.
  app.addHook('preValidation', async (request) => {
    const params = (request.params ?? {}) as { namespace?: unknown; table?: unknown }
    if (typeof params.namespace === 'string') decodeNamespace(params.namespace)
    if (typeof params.table === 'string') checkName('table', params.table)
  })
  app.setErrorHandler((err, request, reply) => {
    const body = toIcebergError(err)
    if (body.error.code >= 500) request.log.error({ err }, 'iceberg rest: request failed')
    else request.log.info({ code: body.error.code, type: body.error.type }, body.error.message)
    if (body.error.code === 401) reply.header('WWW-Authenticate', 'Bearer')
    return reply.code(body.error.code).send(body)
  })
  app.setNotFoundHandler((request, reply) =>
    reply
      .code(404)
      .send(
        errorBody(404, 'NotFoundException', `no such Iceberg REST route: ${request.method} ${request.url}`),
      ),
  )
}

export const icebergRestPlugin: FastifyPluginAsync<IcebergRestOptions> = async (app, opts) => {
  const { catalog } = opts
  if (opts.writeEnabled && opts.readToken === undefined)
    throw new ConfigError(
      'ICEBERG_REST_WRITE_ENABLED',
      'requires ICEBERG_REST_READ_TOKEN: catalog writes must not be open to anyone',
    )
  if (opts.readToken === undefined)
    app.log.warn('ICEBERG_REST_READ_TOKEN is not set: the Iceberg REST endpoint is open to anyone')
  installProtocol(app, opts.readToken)

  const storageConfig = readerStorageConfig({ s3: opts.s3, ...opts.readerS3 })

  /** Namespaces known to the catalog; 404 NoSuchNamespaceException unless `ns` is among them. */
  const requireNamespace = async (ns: string[]): Promise<string[][]> => {
    const all = await catalog.listNamespaces()
    if (!namespaceExists(all, ns)) throw noSuchNamespace(ns)
    return all
  }

  app.get(
    '/v1/config',
    { schema: { querystring: { type: 'object', properties: { warehouse: { type: 'string' } } } } },
    async () => ({
      defaults: {},
      overrides: {},
      endpoints: [...READ_ENDPOINTS, ...(opts.writeEnabled ? WRITE_ENDPOINTS : [])],
    }),
  )

  // The one route without a token: it is where clients get one.
  app.post('/v1/oauth/tokens', { config: { icebergPublic: true } }, oauthTokenHandler(opts.readToken))

  app.get<{ Querystring: { parent?: string } }>(
    '/v1/namespaces',
    { schema: { querystring: listQuery } },
    async (request) => {
      // Unpaginated: `pageToken` is ignored and `next-page-token` omitted, as the spec allows.
      const parent = request.query.parent ? decodeNamespace(request.query.parent) : []
      const all = await catalog.listNamespaces()
      if (parent.length > 0 && !namespaceExists(all, parent)) throw noSuchNamespace(parent)
      return { namespaces: childNamespaces(all, parent) }
    },
  )

  app.head<{ Params: NsParams }>(
    '/v1/namespaces/:namespace',
    { schema: { params: nsParams } },
    async (request, reply) => {
      await requireNamespace(decodeNamespace(request.params.namespace))
      return reply.code(204).send()
    },
  )

  app.get<{ Params: NsParams }>(
    '/v1/namespaces/:namespace',
    { schema: { params: nsParams }, exposeHeadRoute: false },
    async (request) => {
      const ns = decodeNamespace(request.params.namespace)
      await requireNamespace(ns)
      // The Catalog interface keeps no namespace properties; an empty object says "none set".
      return { namespace: ns, properties: {} }
    },
  )

  app.get<{ Params: NsParams }>(
    '/v1/namespaces/:namespace/tables',
    { schema: { params: nsParams, querystring: listQuery } },
    async (request) => {
      const ns = decodeNamespace(request.params.namespace)
      await requireNamespace(ns)
      const tables = await catalog.listTables(ns)
      return { identifiers: tables.map((t) => ({ namespace: t.namespace, name: t.name })) }
    },
  )

  app.head<{ Params: TableParams }>(
    '/v1/namespaces/:namespace/tables/:table',
    { schema: { params: tableParams } },
    async (request, reply) => {
      const ns = decodeNamespace(request.params.namespace)
      const loaded = await catalog.loadTable({ namespace: ns, name: request.params.table })
      if (loaded === undefined) throw noSuchTable(ns, request.params.table)
      return reply.code(204).send()
    },
  )

  app.get<{ Params: TableParams; Querystring: { snapshots?: 'all' | 'refs' } }>(
    '/v1/namespaces/:namespace/tables/:table',
    { schema: { params: tableParams, querystring: loadQuery }, exposeHeadRoute: false },
    async (request) => {
      const ns = decodeNamespace(request.params.namespace)
      const loaded = await catalog.loadTable({ namespace: ns, name: request.params.table })
      // Always NoSuchTableException, even when the namespace is missing: Java's REST client falls
      // back to metadata tables (`db.table.snapshots` → namespace `db.table`) only on that type,
      // so Spark's `SELECT … FROM t.snapshots` needs it. The message still says which is missing.
      if (loaded === undefined) {
        const all = await catalog.listNamespaces()
        if (namespaceExists(all, ns)) throw noSuchTable(ns, request.params.table)
        throw noSuchTable(ns, request.params.table, `namespace ${ns.join('.')} does not exist`)
      }
      const metadata =
        request.query.snapshots === 'refs' ? onlyReferencedSnapshots(loaded.metadata) : loaded.metadata
      return { 'metadata-location': loaded.metadataLocation, metadata, config: storageConfig }
    },
  )

  registerWriteRoutes(app, { ...opts, storageConfig })
}

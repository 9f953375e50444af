/**
 * Response shapes transcribed from the Iceberg REST OpenAPI spec
 * (apache/iceberg `open-api/rest-catalog-open-api.yaml`, components/schemas), reduced to what a
 * client relies on: required keys, types, and `additionalProperties: false` where the spec says so
 * (IcebergErrorResponse). Validated with ajv against the raw JSON of real responses.
 */
import { Ajv, type ValidateFunction } from 'ajv'

const stringMap = { type: 'object', additionalProperties: { type: 'string' } }
const namespace = { type: 'array', items: { type: 'string' } }
const tableIdentifier = {
  type: 'object',
  required: ['namespace', 'name'],
  properties: { namespace, name: { type: 'string' } },
}
const snapshot = {
  type: 'object',
  required: ['snapshot-id', 'timestamp-ms', 'manifest-list', 'summary'],
  properties: {
    'snapshot-id': { type: 'integer' },
    'parent-snapshot-id': { type: 'integer' },
    'sequence-number': { type: 'integer' },
    'timestamp-ms': { type: 'integer' },
    'manifest-list': { type: 'string' },
    summary: {
      type: 'object',
      required: ['operation'],
      properties: { operation: { enum: ['append', 'replace', 'overwrite', 'delete'] } },
      additionalProperties: { type: 'string' },
    },
    'schema-id': { type: 'integer' },
  },
}
const snapshotReference = {
  type: 'object',
  required: ['type', 'snapshot-id'],
  properties: { type: { enum: ['tag', 'branch'] }, 'snapshot-id': { type: 'integer' } },
}
const tableMetadata = {
  type: 'object',
  required: ['format-version', 'table-uuid'],
  properties: {
    'format-version': { type: 'integer', minimum: 1, maximum: 3 },
    'table-uuid': { type: 'string' },
    location: { type: 'string' },
    'last-updated-ms': { type: 'integer' },
    properties: stringMap,
    schemas: { type: 'array', items: { type: 'object', required: ['type', 'fields'] } },
    'current-schema-id': { type: 'integer' },
    'last-column-id': { type: 'integer' },
    'partition-specs': { type: 'array', items: { type: 'object', required: ['fields'] } },
    'default-spec-id': { type: 'integer' },
    'last-partition-id': { type: 'integer' },
    'sort-orders': { type: 'array', items: { type: 'object', required: ['order-id', 'fields'] } },
    'default-sort-order-id': { type: 'integer' },
    snapshots: { type: 'array', items: snapshot },
    refs: { type: 'object', additionalProperties: snapshotReference },
    'current-snapshot-id': { type: 'integer' },
    'last-sequence-number': { type: 'integer' },
    'snapshot-log': {
      type: 'array',
      items: { type: 'object', required: ['snapshot-id', 'timestamp-ms'] },
    },
    'metadata-log': {
      type: 'array',
      items: { type: 'object', required: ['metadata-file', 'timestamp-ms'] },
    },
  },
}

export const SHAPES = {
  IcebergErrorResponse: {
    type: 'object',
    required: ['error'],
    additionalProperties: false,
    properties: {
      error: {
        type: 'object',
        required: ['message', 'type', 'code'],
        properties: {
          message: { type: 'string' },
          type: { type: 'string' },
          code: { type: 'integer', minimum: 400, maximum: 600 },
          stack: { type: 'array', items: { type: 'string' } },
        },
      },
    },
  },
  CatalogConfig: {
    type: 'object',
    required: ['defaults', 'overrides'],
    properties: {
      defaults: stringMap,
      overrides: stringMap,
      endpoints: { type: 'array', items: { type: 'string', pattern: '^(GET|HEAD|POST|DELETE) /v1/' } },
    },
  },
  ListNamespacesResponse: {
    type: 'object',
    properties: {
      'next-page-token': { type: ['string', 'null'] },
      namespaces: { type: 'array', uniqueItems: true, items: namespace },
    },
  },
  GetNamespaceResponse: {
    type: 'object',
    required: ['namespace'],
    properties: { namespace, properties: { anyOf: [stringMap, { type: 'null' }] } },
  },
  CreateNamespaceResponse: {
    type: 'object',
    required: ['namespace'],
    properties: { namespace, properties: stringMap },
  },
  ListTablesResponse: {
    type: 'object',
    properties: {
      'next-page-token': { type: ['string', 'null'] },
      identifiers: { type: 'array', uniqueItems: true, items: tableIdentifier },
    },
  },
  LoadTableResult: {
    type: 'object',
    required: ['metadata'],
    properties: {
      'metadata-location': { type: ['string', 'null'] },
      metadata: tableMetadata,
      config: stringMap,
    },
  },
  CommitTableResponse: {
    type: 'object',
    required: ['metadata-location', 'metadata'],
    properties: { 'metadata-location': { type: 'string' }, metadata: tableMetadata },
  },
  OAuthTokenResponse: {
    type: 'object',
    required: ['access_token', 'token_type'],
    properties: {
      access_token: { type: 'string' },
      token_type: { enum: ['bearer', 'mac', 'N_A'] },
      expires_in: { type: 'integer' },
      issued_token_type: { type: 'string' },
    },
  },
  OAuthError: {
    type: 'object',
    required: ['error'],
    properties: {
      error: {
        enum: [
          'invalid_request',
          'invalid_client',
          'invalid_grant',
          'unauthorized_client',
          'unsupported_grant_type',
          'invalid_scope',
        ],
      },
      error_description: { type: 'string' },
    },
  },
} as const

const ajv = new Ajv({ strict: false, allErrors: true })
const compiled = new Map<string, ValidateFunction>()

/** Throws with ajv's messages unless `body` has the spec's `shape`. */
export function assertShape(shape: keyof typeof SHAPES, body: unknown): void {
  let validate = compiled.get(shape)
  if (!validate) {
    validate = ajv.compile(SHAPES[shape])
    compiled.set(shape, validate)
  }
  if (!validate(body))
    throw new Error(`${shape}: ${ajv.errorsText(validate.errors)}\n${JSON.stringify(body).slice(0, 500)}`)
}

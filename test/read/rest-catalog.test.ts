/**
 * Floe's Iceberg REST endpoint, read side, over real HTTP against a JdbcCatalog on PostgreSQL with
 * tables written by the real write path. The independent client is iceberg-js (npm); response
 * shapes are checked against schemas transcribed from the OpenAPI spec (openapi-shapes.ts).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { IcebergError, IcebergRestCatalog } from 'iceberg-js'
import { parseJson } from '../../src/table/json.ts'
import type { TableMetadata } from '../../src/table/metadata.ts'
import { assertShape } from './openapi-shapes.ts'
import { TOKEN, call, startRestFixture, type RestFixture } from './support.ts'

let f: RestFixture

beforeAll(async () => {
  f = await startRestFixture()
})
afterAll(async () => {
  await f?.close()
})

const client = (token: string | null = TOKEN) =>
  new IcebergRestCatalog({
    baseUrl: `${f.baseUrl}/iceberg`,
    auth: token === null ? { type: 'none' } : { type: 'bearer', token },
  })

describe('iceberg-js as an independent client', () => {
  it('lists top-level namespaces and the children of a parent', async () => {
    const top = await client().listNamespaces()
    expect(top.map((n) => n.namespace)).toEqual([['analytics'], ['lab']])
    const children = await client().listNamespaces({ namespace: ['lab'] })
    expect(children.map((n) => n.namespace)).toEqual([['lab', 'nested']])
  })

  it('lists the tables of the analytics namespace', async () => {
    const tables = await client().listTables({ namespace: ['analytics'] })
    expect(tables).toEqual([
      { namespace: ['analytics'], name: 'pa_events' },
      { namespace: ['analytics'], name: 'pa_rejected' },
      { namespace: ['analytics'], name: 'pa_sessions' },
    ])
  })

  it('loads pa_events with the metadata the catalog points at', async () => {
    const current = await f.writer.load('pa_events')
    const md = await client().loadTable({ namespace: ['analytics'], name: 'pa_events' })
    expect(md['format-version']).toBe(2)
    expect(md['table-uuid']).toBe(current.metadata['table-uuid'])
    expect(md.snapshots).toHaveLength(2)
    expect(md.schemas[0].fields.map((x: { name: string }) => x.name)).toContain('event_time')
    expect(md['partition-specs'][0].fields.map((x: { transform: string }) => x.transform)).toEqual([
      'day',
      'identity',
    ])
  })

  it('answers existence checks for namespaces and tables (HEAD)', async () => {
    const c = client()
    expect(await c.namespaceExists({ namespace: ['analytics'] })).toBe(true)
    expect(await c.namespaceExists({ namespace: ['lab', 'nested'] })).toBe(true)
    expect(await c.namespaceExists({ namespace: ['nope'] })).toBe(false)
    expect(await c.tableExists({ namespace: ['analytics'], name: 'pa_sessions' })).toBe(true)
    expect(await c.tableExists({ namespace: ['analytics'], name: 'nope' })).toBe(false)
    expect(await c.loadNamespaceMetadata({ namespace: ['analytics'] })).toEqual({ properties: {} })
  })

  it('is refused without a token and with a wrong token (401 NotAuthorizedException)', async () => {
    for (const token of [null, 'wrong-token']) {
      const err = await client(token)
        .listNamespaces()
        .catch((e: unknown) => e)
      expect(err).toBeInstanceOf(IcebergError)
      expect((err as IcebergError).status).toBe(401)
      expect((err as IcebergError).icebergType).toBe('NotAuthorizedException')
    }
  })
})

describe('responses match the OpenAPI shapes', () => {
  it('GET /v1/config: defaults, overrides and the explicit endpoint list', async () => {
    const r = await call(f, 'GET', '/v1/config?warehouse=floe')
    expect(r.status).toBe(200)
    assertShape('CatalogConfig', r.json)
    expect(r.json.endpoints).toEqual([
      'GET /v1/{prefix}/namespaces',
      'GET /v1/{prefix}/namespaces/{namespace}',
      'HEAD /v1/{prefix}/namespaces/{namespace}',
      'GET /v1/{prefix}/namespaces/{namespace}/tables',
      'GET /v1/{prefix}/namespaces/{namespace}/tables/{table}',
      'HEAD /v1/{prefix}/namespaces/{namespace}/tables/{table}',
    ])
    // No prefix: clients build /v1/namespaces…
    expect(r.json.overrides.prefix).toBeUndefined()
  })

  it('namespaces, namespace, tables', async () => {
    const list = await call(f, 'GET', '/v1/namespaces')
    assertShape('ListNamespacesResponse', list.json)
    const nested = await call(f, 'GET', '/v1/namespaces?parent=lab')
    expect(nested.json).toEqual({ namespaces: [['lab', 'nested']] })
    const ns = await call(f, 'GET', '/v1/namespaces/lab%1Fnested')
    assertShape('GetNamespaceResponse', ns.json)
    expect(ns.json.namespace).toEqual(['lab', 'nested'])
    const tables = await call(f, 'GET', '/v1/namespaces/analytics/tables')
    assertShape('ListTablesResponse', tables.json)
    expect(tables.json.identifiers).toHaveLength(3)
  })

  it('load table: LoadTableResult with metadata-location, full metadata, storage config', async () => {
    const r = await call(f, 'GET', '/v1/namespaces/analytics/tables/pa_events')
    expect(r.status).toBe(200)
    assertShape('LoadTableResult', r.json)
    const current = await f.writer.load('pa_events')
    expect(r.json['metadata-location']).toBe(current.metadataLocation)
    expect(r.json.config).toEqual({}) // local-folder warehouse: nothing to configure, no secrets
  })

  it('snapshot ids above 2^53 go out digit for digit (BigInt-safe JSON)', async () => {
    const current = await f.writer.load('pa_events')
    const r = await call(f, 'GET', '/v1/namespaces/analytics/tables/pa_events')
    const md = (parseJson(r.text) as { metadata: TableMetadata }).metadata
    expect(md['current-snapshot-id']).toBe(current.metadata['current-snapshot-id'])
    expect(md.snapshots.map((s) => s['snapshot-id'])).toEqual(
      current.metadata.snapshots.map((s) => s['snapshot-id']),
    )
    // The raw text carries the exact decimal digits, not a rounded double.
    for (const s of current.metadata.snapshots) expect(r.text).toContain(`"snapshot-id":${s['snapshot-id']}`)
  })

  it('snapshots=refs returns only referenced snapshots', async () => {
    const all = await call(f, 'GET', '/v1/namespaces/analytics/tables/pa_events?snapshots=all')
    const refs = await call(f, 'GET', '/v1/namespaces/analytics/tables/pa_events?snapshots=refs')
    expect(all.json.metadata.snapshots).toHaveLength(2)
    expect(refs.json.metadata.snapshots).toHaveLength(1)
    assertShape('LoadTableResult', refs.json)
  })

  it('errors are IcebergErrorResponse with the spec exception types', async () => {
    const cases: [string, string, number, string][] = [
      ['GET', '/v1/namespaces/analytics/tables/nope', 404, 'NoSuchTableException'],
      // NoSuchTable even for a missing namespace: Java clients then try `nope.pa_events` as a
      // metadata table (`db.table.snapshots`), which they do only on that type.
      ['GET', '/v1/namespaces/nope/tables/pa_events', 404, 'NoSuchTableException'],
      ['GET', '/v1/namespaces/nope', 404, 'NoSuchNamespaceException'],
      ['GET', '/v1/namespaces/nope/tables', 404, 'NoSuchNamespaceException'],
      ['GET', '/v1/namespaces?parent=nope', 404, 'NoSuchNamespaceException'],
      ['GET', '/v1/namespaces/analytics/tables/pa_events?snapshots=some', 400, 'BadRequestException'],
      ['GET', '/v1/namespaces/a%1F%1Fb', 400, 'BadRequestException'],
      ['GET', '/v1/namespaces/analytics/views', 404, 'NotFoundException'],
      ['POST', '/v1/namespaces', 406, 'UnsupportedOperationException'], // writes are off here
    ]
    for (const [method, p, code, type] of cases) {
      const r = await call(f, method, p, method === 'POST' ? { body: '{"namespace":["x"]}' } : {})
      expect([p, r.status]).toEqual([p, code])
      assertShape('IcebergErrorResponse', r.json)
      expect([p, r.json.error.type, r.json.error.code]).toEqual([p, type, code])
    }
    const unauth = await call(f, 'GET', '/v1/namespaces', { token: null })
    expect(unauth.status).toBe(401)
    // The token route is public by route, not by URL: a fragment naming it opens nothing.
    for (const sneaky of [
      '/v1/config#/v1/oauth/tokens',
      '/v1/namespaces/analytics/tables/pa_events#/v1/oauth/tokens',
    ])
      expect([sneaky, (await call(f, 'GET', sneaky, { token: null })).status]).toEqual([sneaky, 401])
    expect(unauth.headers.get('www-authenticate')).toBe('Bearer')
    assertShape('IcebergErrorResponse', unauth.json)
  })
})

describe('OAuth2 client credentials at /v1/oauth/tokens', () => {
  const form = (fields: Record<string, string>, headers: Record<string, string> = {}) =>
    fetch(`${f.baseUrl}/iceberg/v1/oauth/tokens`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers },
      body: new URLSearchParams(fields).toString(),
    })

  it('exchanges credential <id>:<token> for a bearer token that the catalog accepts', async () => {
    const res = await form({
      grant_type: 'client_credentials',
      client_id: 'trino',
      client_secret: TOKEN,
      scope: 'catalog',
    })
    expect(res.status).toBe(200)
    const body = (await res.json()) as { access_token: string }
    assertShape('OAuthTokenResponse', body)
    const list = await call(f, 'GET', '/v1/namespaces', { token: body.access_token })
    expect(list.status).toBe(200)
  })

  it('accepts the secret via HTTP Basic and a token-exchange refresh', async () => {
    const basic = Buffer.from(`spark:${TOKEN}`).toString('base64')
    const res = await form(
      { grant_type: 'client_credentials', scope: 'catalog' },
      { authorization: `Basic ${basic}` },
    )
    expect(res.status).toBe(200)
    const refresh = await form({
      grant_type: 'urn:ietf:params:oauth:grant-type:token-exchange',
      subject_token: TOKEN,
      subject_token_type: 'urn:ietf:params:oauth:token-type:access_token',
    })
    expect(refresh.status).toBe(200)
  })

  it('rejects a wrong secret (401 invalid_client) and unknown grants (400)', async () => {
    const bad = await form({ grant_type: 'client_credentials', client_id: 'x', client_secret: 'nope' })
    expect(bad.status).toBe(401)
    const badBody = (await bad.json()) as { error: string }
    assertShape('OAuthError', badBody)
    expect(badBody.error).toBe('invalid_client')
    const grant = await form({ grant_type: 'password', username: 'a', password: 'b' })
    expect(grant.status).toBe(400)
    expect(((await grant.json()) as { error: string }).error).toBe('unsupported_grant_type')
  })
})

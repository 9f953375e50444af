/**
 * Write support of Floe's Iceberg REST endpoint (ICEBERG_REST_WRITE_ENABLED): create namespace,
 * create table, append commits with requirement checks, committed through the backing JdbcCatalog
 * on PostgreSQL. Checked independently: iceberg-js for create calls, the `iceberg_tables` rows in
 * PostgreSQL, and the metadata the catalog then points at.
 */
import { randomUUID } from 'node:crypto'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { IcebergError, IcebergRestCatalog } from 'iceberg-js'
import { RestCatalog } from '../../src/commit/rest.ts'
import { createTableWriter } from '../../src/write/append.ts'
import { parseJson, stringifyJson } from '../../src/table/json.ts'
import { writeManifestList } from '../../src/write/manifest-list.ts'
import type { TableMetadata } from '../../src/table/metadata.ts'
import { assertShape } from './openapi-shapes.ts'
import { TOKEN, call, eventRow, startRestFixture, type RestFixture } from './support.ts'

let f: RestFixture
const EVENTS = { namespace: ['analytics'], name: 'pa_events' }

beforeAll(async () => {
  f = await startRestFixture({ writeEnabled: true })
})
afterAll(async () => {
  await f?.close()
})

const client = () =>
  new IcebergRestCatalog({ baseUrl: `${f.baseUrl}/iceberg`, auth: { type: 'bearer', token: TOKEN } })

async function icebergErrorOf(p: Promise<unknown>): Promise<IcebergError> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  )
  expect(err).toBeInstanceOf(IcebergError)
  return err as IcebergError
}

/** A commit body appending snapshot `id` on top of the table's current state (manifest list really written). */
async function appendBody(id: bigint, over: { uuid?: string; ref?: bigint | null } = {}) {
  const base = (await f.catalog.loadTable(EVENTS))!
  const md = base.metadata
  const parent = md.refs.main?.['snapshot-id']
  const seq = md['last-sequence-number'] + 1n
  const manifestList = `${md.location}/metadata/snap-${id}-1-${randomUUID()}.avro`
  await f.io.write(
    manifestList,
    writeManifestList({ snapshotId: id, parentSnapshotId: parent, sequenceNumber: seq, manifests: [] }),
  )
  return {
    base,
    body: {
      identifier: EVENTS,
      requirements: [
        { type: 'assert-table-uuid', uuid: over.uuid ?? md['table-uuid'] },
        {
          type: 'assert-ref-snapshot-id',
          ref: 'main',
          'snapshot-id': over.ref === undefined ? (parent ?? null) : over.ref,
        },
      ],
      updates: [
        {
          action: 'add-snapshot',
          snapshot: {
            'snapshot-id': id,
            ...(parent === undefined ? {} : { 'parent-snapshot-id': parent }),
            'sequence-number': seq,
            'timestamp-ms': BigInt(Date.now()),
            'manifest-list': manifestList,
            summary: { operation: 'append', 'added-data-files': '0', 'added-records': '0' },
            'schema-id': 0,
          },
        },
        { action: 'set-snapshot-ref', 'ref-name': 'main', type: 'branch', 'snapshot-id': id },
      ],
    },
  }
}

const commit = (body: unknown) =>
  call(f, 'POST', '/v1/namespaces/analytics/tables/pa_events', { body: stringifyJson(body) })

describe('create namespace and table', () => {
  it('advertises the write routes in /v1/config', async () => {
    const r = await call(f, 'GET', '/v1/config')
    expect(r.json.endpoints).toEqual(
      expect.arrayContaining([
        'POST /v1/{prefix}/namespaces',
        'POST /v1/{prefix}/namespaces/{namespace}/tables',
        'POST /v1/{prefix}/namespaces/{namespace}/tables/{table}',
      ]),
    )
  })

  it('creates a namespace once (iceberg-js), stored as a JdbcCatalog namespace row', async () => {
    const created = await client().createNamespace({ namespace: ['marketing'] })
    assertShape('CreateNamespaceResponse', created)
    const rows = await f.sql.query<{ namespace: string }>(
      "SELECT namespace FROM iceberg_namespace_properties WHERE catalog_name = 'floe' AND property_key = 'exists'",
    )
    expect(rows.rows.map((r) => r.namespace)).toContain('marketing')
    const again = await icebergErrorOf(client().createNamespace({ namespace: ['marketing'] }))
    expect([again.status, again.icebergType]).toEqual([409, 'AlreadyExistsException'])
    const withProps = await call(f, 'POST', '/v1/namespaces', {
      body: '{"namespace":["p"],"properties":{"owner":"x"}}',
    })
    expect(withProps.status).toBe(406)
  })

  it('creates a table with server-built v2 metadata committed through the catalog', async () => {
    await client().createNamespaceIfNotExists({ namespace: ['marketing'] })
    const md = await client().createTable(
      { namespace: ['marketing'] },
      {
        name: 'clicks',
        schema: {
          type: 'struct',
          'schema-id': 0,
          fields: [
            { id: 1, name: 'id', type: 'long', required: true },
            { id: 2, name: 'at', type: 'timestamptz', required: true },
            {
              id: 3,
              name: 'tags',
              required: false,
              type: {
                type: 'map',
                'key-id': 4,
                key: 'string',
                'value-id': 5,
                value: 'string',
                'value-required': false,
              },
            },
          ],
        },
        'partition-spec': {
          'spec-id': 0,
          fields: [{ 'source-id': 2, name: 'at_day', transform: 'day' } as never],
        },
        properties: { 'write.format.default': 'parquet' },
      },
    )
    expect(md['format-version']).toBe(2)
    expect(md.location).toBe(`${f.warehouse}/marketing/clicks`)
    expect(md['last-column-id']).toBe(5)
    expect(md['partition-specs'][0].fields[0]).toMatchObject({ 'field-id': 1000, transform: 'day' })
    const row = await f.sql.query<{ metadata_location: string; iceberg_type: string }>(
      "SELECT metadata_location, iceberg_type FROM iceberg_tables WHERE catalog_name = 'floe' AND table_namespace = 'marketing' AND table_name = 'clicks'",
    )
    expect(row.rows[0].iceberg_type).toBe('TABLE')
    expect(await f.io.exists(row.rows[0].metadata_location)).toBe(true)
    const loaded = await call(f, 'GET', '/v1/namespaces/marketing/tables/clicks')
    expect(loaded.json['metadata-location']).toBe(row.rows[0].metadata_location)
    expect(loaded.json.metadata['table-uuid']).toBe(md['table-uuid'])

    const dup = await icebergErrorOf(
      client().createTable({ namespace: ['marketing'] }, { name: 'clicks', schema: md.schemas[0] }),
    )
    expect([dup.status, dup.icebergType]).toEqual([409, 'AlreadyExistsException'])
    const noNs = await icebergErrorOf(
      client().createTable({ namespace: ['ghost'] }, { name: 't', schema: md.schemas[0] }),
    )
    expect([noNs.status, noNs.icebergType]).toEqual([404, 'NoSuchNamespaceException'])
    const staged = await call(f, 'POST', '/v1/namespaces/marketing/tables', {
      body: JSON.stringify({ name: 'staged', schema: md.schemas[0], 'stage-create': true }),
    })
    expect([staged.status, staged.json.error.type]).toEqual([406, 'UnsupportedOperationException'])
  })
})

describe('commit table (append)', () => {
  it('applies add-snapshot + set-snapshot-ref exactly as sent, with a 63-bit id intact', async () => {
    const id = 2n ** 62n + 12345n // far above 2^53
    const { base, body } = await appendBody(id)
    const r = await commit(body)
    expect(r.status).toBe(200)
    assertShape('CommitTableResponse', r.json)
    expect(r.text).toContain(`"current-snapshot-id":${id}`)
    const now = (await f.catalog.loadTable(EVENTS))!
    expect(now.metadataLocation).toBe(r.json['metadata-location'])
    const md = now.metadata
    expect(md['current-snapshot-id']).toBe(id)
    expect(md.refs.main['snapshot-id']).toBe(id)
    expect(md['last-sequence-number']).toBe(base.metadata['last-sequence-number'] + 1n)
    expect(md.snapshots.at(-1)).toMatchObject({
      'snapshot-id': id,
      'parent-snapshot-id': base.metadata['current-snapshot-id'],
    })
    expect(md['snapshot-log'].at(-1)?.['snapshot-id']).toBe(id)
    expect(md['metadata-log'].at(-1)?.['metadata-file']).toBe(base.metadataLocation)
    // The response metadata is the committed metadata, parsed losslessly.
    expect((parseJson(r.text) as { metadata: TableMetadata }).metadata['current-snapshot-id']).toBe(id)
  })

  it('409 CommitFailedException when a requirement no longer holds; nothing changes', async () => {
    const before = (await f.catalog.loadTable(EVENTS))!.metadataLocation
    const stale = await appendBody(9001n, { ref: 1234n })
    const uuid = await appendBody(9002n, { uuid: randomUUID() })
    const mustNotExist = await appendBody(9003n, { ref: null })
    for (const { body } of [stale, uuid, mustNotExist]) {
      const r = await commit(body)
      expect(r.status).toBe(409)
      assertShape('IcebergErrorResponse', r.json)
      expect(r.json.error.type).toBe('CommitFailedException')
    }
    const schema = await appendBody(9004n)
    schema.body.requirements.push({ type: 'assert-current-schema-id', 'current-schema-id': 7 } as never)
    expect((await commit(schema.body)).status).toBe(409)
    expect((await f.catalog.loadTable(EVENTS))!.metadataLocation).toBe(before)
  })

  it('400 for malformed or unknown requirements, unknown updates and a missing manifest list; 406 for known non-append updates', async () => {
    const unknownReq = await appendBody(9101n)
    unknownReq.body.requirements.push({ type: 'assert-something-new' } as never)
    const r1 = await commit(unknownReq.body)
    expect([r1.status, r1.json.error.type]).toEqual([400, 'BadRequestException'])

    const noList = await appendBody(9102n)
    ;(noList.body.updates[0] as { snapshot: { 'manifest-list': string } }).snapshot['manifest-list'] +=
      '.missing'
    const r2 = await commit(noList.body)
    expect(r2.status).toBe(400)
    expect(r2.json.error.message).toContain('does not exist')

    const props = await appendBody(9103n)
    props.body.updates.push({ action: 'set-properties', updates: { a: 'b' } } as never)
    const r3 = await commit(props.body)
    expect([r3.status, r3.json.error.type]).toEqual([406, 'UnsupportedOperationException'])

    // Floe's own append carries its WAL position as a property: accepted beside the snapshot.
    const wal = await appendBody(9106n)
    wal.body.updates.push({ action: 'set-properties', updates: { 'floe.wal-seq.w1': '7' } } as never)
    expect((await commit(wal.body)).status).toBe(200)
    expect((await f.catalog.loadTable(EVENTS))!.metadata.properties['floe.wal-seq.w1']).toBe('7')

    const unknownUpdate = await appendBody(9105n)
    unknownUpdate.body.updates.push({ action: 'set-something-new' } as never)
    const r4 = await commit(unknownUpdate.body)
    expect([r4.status, r4.json.error.type]).toEqual([400, 'BadRequestException']) // spec: unknown → 400

    const wrongTable = await appendBody(9104n)
    wrongTable.body.identifier = { namespace: ['analytics'], name: 'pa_sessions' }
    expect((await commit(wrongTable.body)).status).toBe(400)

    const missing = await call(f, 'POST', '/v1/namespaces/analytics/tables/nope', {
      body: '{"requirements":[],"updates":[]}',
    })
    expect([missing.status, missing.json.error.type]).toEqual([404, 'NoSuchTableException'])
  })

  it('two commits on the same base race: exactly one wins, the other gets 409', async () => {
    const a = await appendBody(9201n)
    const b = await appendBody(9202n)
    const results = await Promise.all([commit(a.body), commit(b.body)])
    expect(results.map((r) => r.status).sort()).toEqual([200, 409])
    const md = (await f.catalog.loadTable(EVENTS))!.metadata
    const won = results[0].status === 200 ? 9201n : 9202n
    expect(md['current-snapshot-id']).toBe(won)
    expect(md.snapshots.filter((s) => s['snapshot-id'] === 9201n || s['snapshot-id'] === 9202n)).toHaveLength(
      1,
    )
  })

  it("Floe's own writer appends rows through Floe's REST client against this endpoint", async () => {
    const rest = new RestCatalog({ uri: `${f.baseUrl}/iceberg`, credentials: `floe-writer:${TOKEN}` })
    const writer = createTableWriter({
      catalog: rest,
      io: f.io,
      namespace: ['analytics'],
      warehouse: f.warehouse,
    })
    const result = await writer.append('pa_events', [eventRow(10), eventRow(11)])
    const md = (await f.catalog.loadTable(EVENTS))!.metadata
    expect(md['current-snapshot-id']).toBe(result.snapshotId)
    expect(md.snapshots.at(-1)?.summary['added-records']).toBe('2')
  })
})

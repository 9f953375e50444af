/**
 * JdbcCatalog against real PostgreSQL (node-postgres), the embedded SQLite file and PGlite: Iceberg Java's exact V1 layout,
 * idempotent set-up, namespaces, create (incl. concurrent creators) and the compare-and-swap commit.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { mkdtempSync, readdirSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { JdbcCatalog, catalogDdl, defaultTableLocation } from '../../src/commit/jdbc.ts'
import type { LoadedTable, TableIdentifier } from '../../src/table/catalog.ts'
import { CommitConflictError, CommitStateUnknownError, NoSuchTableError } from '../../src/errors.ts'
import { LocalFileIO, fileUri } from '../../src/storage/local.ts'
import { PgSql } from '../../src/storage/pg.ts'
import { PGliteSql } from '../../src/storage/pglite.ts'
import { SqliteSql } from '../../src/storage/sqlite.ts'
import type { SqlClient } from '../../src/storage/sql.ts'
import type { TableMetadata } from '../../src/table/metadata.ts'
import { createTestDatabase } from '../support/pg.ts'
import { commitAppend } from '../../src/table/append-commit.ts'

const dir = mkdtempSync(path.join(tmpdir(), 'floe-jdbc-'))
const warehouse = fileUri(dir)
const io = new LocalFileIO()
let db: { url: string; drop: () => Promise<void> }
const sqls: Record<string, SqlClient> = {}
const opened: SqlClient[] = []

beforeAll(async () => {
  db = await createTestDatabase()
  sqls.pg = new PgSql(db.url)
  sqls.pglite = await PGliteSql.open()
  sqls.sqlite = SqliteSql.open(path.join(dir, 'floe.sqlite'))
})

afterAll(async () => {
  for (const s of [...Object.values(sqls), ...opened]) await s.close()
  await db?.drop()
  rmSync(dir, { recursive: true, force: true })
})

/** A minimal valid v2 table metadata (the writer's builders are tested in test/write/). */
function newMetadata(location: string): TableMetadata {
  return {
    'format-version': 2,
    'table-uuid': crypto.randomUUID(),
    location,
    'last-sequence-number': 0n,
    'last-updated-ms': BigInt(Date.now()),
    'last-column-id': 2,
    'current-schema-id': 0,
    schemas: [
      {
        type: 'struct',
        'schema-id': 0,
        fields: [
          { id: 1, name: 'site_id', required: true, type: 'string' },
          { id: 2, name: 'event_time', required: true, type: 'timestamptz' },
        ],
      },
    ],
    'default-spec-id': 0,
    'partition-specs': [{ 'spec-id': 0, fields: [] }],
    'last-partition-id': 999,
    'default-sort-order-id': 0,
    'sort-orders': [{ 'order-id': 0, fields: [] }],
    properties: {},
    'current-snapshot-id': -1n,
    refs: {},
    snapshots: [],
    statistics: [],
    'partition-statistics': [],
    'snapshot-log': [],
    'metadata-log': [],
  }
}

/** Next metadata with one more (fake) snapshot; ids above 2^53 check BigInt safety end to end. */
function withSnapshot(base: LoadedTable, snapshotId: bigint): TableMetadata {
  const md = base.metadata
  const seq = md['last-sequence-number'] + 1n
  const now = BigInt(Date.now())
  return {
    ...md,
    'last-sequence-number': seq,
    'last-updated-ms': now,
    'current-snapshot-id': snapshotId,
    refs: { main: { 'snapshot-id': snapshotId, type: 'branch' } },
    snapshots: [
      ...md.snapshots,
      {
        'snapshot-id': snapshotId,
        ...(md['current-snapshot-id'] > 0n ? { 'parent-snapshot-id': md['current-snapshot-id'] } : {}),
        'sequence-number': seq,
        'timestamp-ms': now,
        'manifest-list': `${md.location}/metadata/snap-${snapshotId}-1-x.avro`,
        summary: { operation: 'append' },
        'schema-id': 0,
      },
    ],
    'snapshot-log': [...md['snapshot-log'], { 'timestamp-ms': now, 'snapshot-id': snapshotId }],
    'metadata-log': [
      ...md['metadata-log'],
      { 'timestamp-ms': md['last-updated-ms'], 'metadata-file': base.metadataLocation },
    ],
  }
}

const META_NAME =
  /\/metadata\/(\d{5})-[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\.metadata\.json$/

function metadataFiles(id: TableIdentifier, catalogName: string): string[] {
  try {
    return readdirSync(path.join(dir, catalogName, ...id.namespace, id.name, 'metadata')).sort()
  } catch {
    return []
  }
}

describe.each(['pg', 'pglite', 'sqlite'])('JdbcCatalog on %s', (kind) => {
  const sql = () => sqls[kind]
  const catalogName = `floe_${kind}`
  const cat = () => new JdbcCatalog({ sql: sql(), io, name: catalogName })
  const tableId = (name: string): TableIdentifier => ({ namespace: ['analytics'], name })
  const location = (id: TableIdentifier) => defaultTableLocation(`${warehouse}/${catalogName}`, id)

  it.skipIf(kind === 'sqlite')(
    'creates exactly Iceberg Java V1 tables (columns, types, lengths, nullability, keys), idempotently',
    async () => {
      await Promise.all([cat().initialize(), cat().initialize(), cat().initialize()])
      await cat().initialize()
      const cols = await sql().query<{
        table_name: string
        column_name: string
        data_type: string
        character_maximum_length: number
        is_nullable: string
      }>(
        `SELECT table_name, column_name, data_type, character_maximum_length, is_nullable
         FROM information_schema.columns
        WHERE table_schema = current_schema() AND table_name IN ('iceberg_tables', 'iceberg_namespace_properties')
        ORDER BY table_name, ordinal_position`,
      )
      const shape = cols.rows.map(
        (c) =>
          `${c.table_name}.${c.column_name} ${c.data_type}(${c.character_maximum_length}) ${c.is_nullable}`,
      )
      expect(shape).toEqual([
        'iceberg_namespace_properties.catalog_name character varying(255) NO',
        'iceberg_namespace_properties.namespace character varying(255) NO',
        // In the primary key, hence NOT NULL in Postgres although Java's DDL does not say so.
        'iceberg_namespace_properties.property_key character varying(255) NO',
        'iceberg_namespace_properties.property_value character varying(1000) YES',
        'iceberg_tables.catalog_name character varying(255) NO',
        'iceberg_tables.table_namespace character varying(255) NO',
        'iceberg_tables.table_name character varying(255) NO',
        'iceberg_tables.metadata_location character varying(1000) YES',
        'iceberg_tables.previous_metadata_location character varying(1000) YES',
        'iceberg_tables.iceberg_type character varying(5) YES',
      ])
      const keys = await sql().query<{ table_name: string; column_name: string }>(
        `SELECT k.table_name, k.column_name FROM information_schema.table_constraints t
         JOIN information_schema.key_column_usage k ON k.constraint_name = t.constraint_name AND k.table_name = t.table_name
        WHERE t.constraint_type = 'PRIMARY KEY' AND t.table_schema = current_schema()
          AND t.table_name IN ('iceberg_tables', 'iceberg_namespace_properties')
        ORDER BY k.table_name, k.ordinal_position`,
      )
      expect(keys.rows.map((k) => `${k.table_name}.${k.column_name}`)).toEqual([
        'iceberg_namespace_properties.catalog_name',
        'iceberg_namespace_properties.namespace',
        'iceberg_namespace_properties.property_key',
        'iceberg_tables.catalog_name',
        'iceberg_tables.table_namespace',
        'iceberg_tables.table_name',
      ])
    },
  )

  it("creates a namespace once with Java's (exists, true) row and lists namespaces from both tables", async () => {
    const c = cat()
    await c.createNamespaceIfAbsent(['analytics'])
    await Promise.all([
      c.createNamespaceIfAbsent(['analytics']),
      cat().createNamespaceIfAbsent(['analytics']),
    ])
    await c.createNamespaceIfAbsent(['lake', 'raw'])
    const props = await sql().query(
      'SELECT namespace, property_key, property_value FROM iceberg_namespace_properties WHERE catalog_name = $1 ORDER BY namespace',
      [catalogName],
    )
    expect(props.rows).toEqual([
      { namespace: 'analytics', property_key: 'exists', property_value: 'true' },
      { namespace: 'lake.raw', property_key: 'exists', property_value: 'true' },
    ])
    // A namespace known only from a table row (e.g. created by Trino without properties).
    await sql().query(
      "INSERT INTO iceberg_tables (catalog_name, table_namespace, table_name, metadata_location, previous_metadata_location, iceberg_type) VALUES ($1, 'trino_ns', 't', 'file:///nowhere/00000-x.metadata.json', null, 'TABLE')",
      [catalogName],
    )
    expect(await c.listNamespaces()).toEqual([['analytics'], ['lake', 'raw'], ['trino_ns']])
    expect(await c.namespaceExists(['lake'])).toBe(true) // parent of lake.raw, as Java answers
    expect(await c.namespaceExists(['nope'])).toBe(false)
    // Other catalog names in the same database are separate catalogs.
    expect(await new JdbcCatalog({ sql: sql(), io, name: `${catalogName}_other` }).listNamespaces()).toEqual(
      [],
    )
    await expect(c.createNamespaceIfAbsent(['a.b'])).rejects.toThrow(/namespace/)
  })

  it('creates a table: 00000-<uuid>.metadata.json, the exact row, and create again returns it', async () => {
    const c = cat()
    const id = tableId('pa_events')
    const md = newMetadata(location(id))
    const created = await c.createTableIfAbsent(id, md)
    expect(created.metadataLocation).toMatch(META_NAME)
    expect(created.metadataLocation.startsWith(`${location(id)}/metadata/00000-`)).toBe(true)
    const row = await sql().query(
      'SELECT catalog_name, table_namespace, table_name, metadata_location, previous_metadata_location, iceberg_type FROM iceberg_tables WHERE catalog_name = $1 AND table_name = $2',
      [catalogName, 'pa_events'],
    )
    expect(row.rows).toEqual([
      {
        catalog_name: catalogName,
        table_namespace: 'analytics',
        table_name: 'pa_events',
        metadata_location: created.metadataLocation,
        previous_metadata_location: null,
        iceberg_type: 'TABLE',
      },
    ])
    const loaded = await c.loadTable(id)
    expect(loaded).toEqual({ metadataLocation: created.metadataLocation, metadata: md })
    const again = await c.createTableIfAbsent(id, newMetadata(location(id)))
    expect(again.metadataLocation).toBe(created.metadataLocation)
    expect(again.metadata['table-uuid']).toBe(md['table-uuid'])
    expect(await c.listTables(['analytics'])).toEqual([id])
    expect(await c.loadTable(tableId('missing'))).toBeUndefined()
  })

  it('concurrent creators converge on one table and leave one metadata file', async () => {
    const id = tableId('race')
    // Separate catalog objects (pg: separate pooled connections), all racing the INSERT.
    const results = await Promise.all(
      Array.from({ length: 6 }, () => cat().createTableIfAbsent(id, newMetadata(location(id)))),
    )
    const locations = new Set(results.map((r) => r.metadataLocation))
    expect(locations.size).toBe(1)
    expect(new Set(results.map((r) => r.metadata['table-uuid'])).size).toBe(1)
    expect(metadataFiles(id, catalogName)).toEqual([path.basename([...locations][0])])
  })

  it('commits by compare-and-swap: 00001 next, previous pointer kept, BigInt ids round-trip', async () => {
    const c = cat()
    const id = tableId('cas')
    const base = await c.createTableIfAbsent(id, newMetadata(location(id)))
    const big = 9_007_199_254_740_993n // 2^53 + 1: a JS number would round it
    const next = await commitAppend(c, id, { base, metadata: withSnapshot(base, big), snapshotId: big })
    expect(next.metadataLocation).toMatch(META_NAME)
    expect(META_NAME.exec(next.metadataLocation)![1]).toBe('00001')
    const row = await sql().query<{ metadata_location: string; previous_metadata_location: string }>(
      'SELECT metadata_location, previous_metadata_location FROM iceberg_tables WHERE catalog_name = $1 AND table_name = $2',
      [catalogName, 'cas'],
    )
    expect(row.rows[0]).toEqual({
      metadata_location: next.metadataLocation,
      previous_metadata_location: base.metadataLocation,
    })
    const loaded = (await cat().loadTable(id))!
    expect(loaded.metadata['current-snapshot-id']).toBe(big)
    expect(loaded.metadata.snapshots[0]['snapshot-id']).toBe(big)

    // A second commit on the stale base loses, and its metadata file does not linger.
    const before = metadataFiles(id, catalogName)
    const stale = commitAppend(c, id, { base, metadata: withSnapshot(base, 42n), snapshotId: 42n })
    await expect(stale).rejects.toBeInstanceOf(CommitConflictError)
    expect(metadataFiles(id, catalogName)).toEqual(before)
    expect((await c.loadTable(id))!.metadataLocation).toBe(next.metadataLocation)

    // On the fresh base it goes through.
    const third = await commitAppend(c, id, {
      base: loaded,
      metadata: withSnapshot(loaded, 43n),
      snapshotId: 43n,
    })
    expect(META_NAME.exec(third.metadataLocation)![1]).toBe('00002')
  })

  it('of concurrent commits on the same base exactly one wins', async () => {
    const id = tableId('cas_race')
    const base = await cat().createTableIfAbsent(id, newMetadata(location(id)))
    const outcomes = await Promise.allSettled(
      Array.from({ length: 5 }, (_, i) =>
        commitAppend(cat(), id, {
          base,
          metadata: withSnapshot(base, BigInt(100 + i)),
          snapshotId: BigInt(100 + i),
        }),
      ),
    )
    const won = outcomes.filter((o) => o.status === 'fulfilled')
    const lost = outcomes.filter((o) => o.status === 'rejected')
    expect(won).toHaveLength(1)
    expect(lost.every((o) => (o as PromiseRejectedResult).reason instanceof CommitConflictError)).toBe(true)
    const current = (await cat().loadTable(id))!
    expect(current.metadataLocation).toBe(
      (won[0] as PromiseFulfilledResult<LoadedTable>).value.metadataLocation,
    )
    expect(metadataFiles(id, catalogName)).toHaveLength(2) // 00000 + the winner's 00001
  })

  it('a dropped table is NoSuchTableError, not a conflict', async () => {
    const id = tableId('dropped')
    const base = await cat().createTableIfAbsent(id, newMetadata(location(id)))
    await sql().query('DELETE FROM iceberg_tables WHERE catalog_name = $1 AND table_name = $2', [
      catalogName,
      'dropped',
    ])
    await expect(
      commitAppend(cat(), id, { base, metadata: withSnapshot(base, 7n), snapshotId: 7n }),
    ).rejects.toBeInstanceOf(NoSuchTableError)
  })

  it('a connection lost during the UPDATE is CommitStateUnknownError and the new file is kept', async () => {
    const id = tableId('unknown')
    const base = await cat().createTableIfAbsent(id, newMetadata(location(id)))
    // Fault injection on the real database: the UPDATE runs (and commits), then the reply is "lost".
    const flaky: SqlClient = {
      dialect: sql().dialect,
      query: async <R>(text: string, params?: unknown[]) => {
        const res = await sql().query<R>(text, params)
        if (text.startsWith('UPDATE iceberg_tables')) throw new Error('Connection terminated unexpectedly')
        return res
      },
      transaction: (fn) => sql().transaction(fn),
      close: async () => {},
    }
    const c = new JdbcCatalog({ sql: flaky, io, name: catalogName })
    const err = await commitAppend(c, id, { base, metadata: withSnapshot(base, 77n), snapshotId: 77n }).catch(
      (e: unknown) => e,
    )
    expect(err).toBeInstanceOf(CommitStateUnknownError)
    // It did commit: the reload shows the snapshot, and the file the pointer names exists.
    const now = (await cat().loadTable(id))!
    expect(now.metadata['current-snapshot-id']).toBe(77n)
    expect(now.metadataLocation).not.toBe(base.metadataLocation)
  })

  it('a database that cannot be reached is a plain failure, not an unknown outcome, and leaves no file', async () => {
    const id = tableId('unreachable')
    const base = await cat().createTableIfAbsent(id, newMetadata(location(id)))
    const before = metadataFiles(id, catalogName)
    // A real connection attempt to a closed port; the catalog tables already exist (initialised).
    const down = new PgSql('postgres://postgres@127.0.0.1:1/none')
    opened.push(down)
    const c = new JdbcCatalog({ sql: down, io, name: catalogName, initializeCatalogTables: false })
    const err = await commitAppend(c, id, { base, metadata: withSnapshot(base, 5n), snapshotId: 5n }).catch(
      (e: unknown) => e,
    )
    expect((err as { code?: string }).code).toBe('ECONNREFUSED')
    expect(err).not.toBeInstanceOf(CommitStateUnknownError)
    expect(metadataFiles(id, catalogName)).toEqual(before)
  })

  it('reads rows other engines write: V0-style NULL iceberg_type is a table, a VIEW row is not', async () => {
    const c = cat()
    const id = tableId('by_trino')
    const md = newMetadata(location(id))
    const loc = `${location(id)}/metadata/00000-${crypto.randomUUID()}.metadata.json`
    await io.write(
      loc,
      new TextEncoder().encode(
        JSON.stringify({ ...md, 'last-sequence-number': 0, 'last-updated-ms': 1, 'current-snapshot-id': -1 }),
      ),
    )
    // Trino's IcebergJdbcClient INSERT, docs/catalogs.md, with a NULL type as a V0 writer leaves it.
    await sql().query(
      'INSERT INTO iceberg_tables (catalog_name, table_namespace, table_name, metadata_location, previous_metadata_location) VALUES ($1, $2, $3, $4, null)',
      [catalogName, 'analytics', 'by_trino', loc],
    )
    await sql().query(
      "INSERT INTO iceberg_tables (catalog_name, table_namespace, table_name, metadata_location, previous_metadata_location, iceberg_type) VALUES ($1, 'analytics', 'a_view', $2, null, 'VIEW')",
      [catalogName, loc],
    )
    const t = (await c.loadTable(id))!
    expect(t.metadataLocation).toBe(loc)
    expect(t.metadata['last-sequence-number']).toBe(0n)
    expect(await c.loadTable(tableId('a_view'))).toBeUndefined()
    expect((await c.listTables(['analytics'])).map((x) => x.name)).not.toContain('a_view')
  })
})

describe('JdbcCatalog schema upgrade', () => {
  it('adds iceberg_type to a V0 database created by Java without it, keeping existing rows loadable', async () => {
    const v0 = await createTestDatabase('floe_v0')
    const sql = new PgSql(v0.url)
    opened.push(sql)
    // Java's V0_CREATE_CATALOG_SQL and CREATE_NAMESPACE_PROPERTIES_TABLE_SQL, verbatim.
    await sql.query(
      'CREATE TABLE iceberg_tables(catalog_name VARCHAR(255) NOT NULL,table_namespace VARCHAR(255) NOT NULL,table_name VARCHAR(255) NOT NULL,metadata_location VARCHAR(1000),previous_metadata_location VARCHAR(1000),PRIMARY KEY (catalog_name, table_namespace, table_name))',
    )
    await sql.query(
      'CREATE TABLE iceberg_namespace_properties(catalog_name VARCHAR(255) NOT NULL,namespace VARCHAR(255) NOT NULL,property_key VARCHAR(255),property_value VARCHAR(1000),PRIMARY KEY (catalog_name, namespace, property_key))',
    )
    const loc = `${warehouse}/v0/t/metadata/00000-${crypto.randomUUID()}.metadata.json`
    await io.write(
      loc,
      new TextEncoder().encode(
        JSON.stringify({
          ...newMetadata(`${warehouse}/v0/t`),
          'last-sequence-number': 0,
          'last-updated-ms': 1,
          'current-snapshot-id': -1,
        }),
      ),
    )
    await sql.query(
      'INSERT INTO iceberg_tables (catalog_name, table_namespace, table_name, metadata_location, previous_metadata_location)  VALUES ($1,$2,$3,$4,null)',
      ['java', 'db', 't', loc],
    )
    const c = new JdbcCatalog({ sql, io, name: 'java' })
    expect((await c.loadTable({ namespace: ['db'], name: 't' }))?.metadataLocation).toBe(loc)
    const col = await sql.query(
      "SELECT data_type, character_maximum_length FROM information_schema.columns WHERE table_name = 'iceberg_tables' AND column_name = 'iceberg_type'",
    )
    expect(col.rows).toEqual([{ data_type: 'character varying', character_maximum_length: 5 }])
    await sql.close()
    opened.pop()
    await v0.drop()
  })

  it('in SQLite: the tables Java creates (same columns, declared types, NOT NULL, keys), idempotently', async () => {
    const sql = SqliteSql.open(path.join(dir, 'layout.sqlite'))
    opened.push(sql)
    await Promise.all([1, 2, 3].map(() => new JdbcCatalog({ sql, io, name: 'x' }).initialize()))
    await new JdbcCatalog({ sql, io, name: 'x' }).initialize()
    const shape = async (table: string) =>
      (
        await sql.query<{ name: string; type: string; notnull: number; pk: number }>(
          `SELECT name, type, "notnull", pk FROM pragma_table_info('${table}') ORDER BY cid`,
        )
      ).rows.map((c) => `${c.name} ${c.type}${c.notnull ? ' NOT NULL' : ''}${c.pk ? ` pk${c.pk}` : ''}`)
    expect(await shape('iceberg_tables')).toEqual([
      'catalog_name VARCHAR(255) NOT NULL pk1',
      'table_namespace VARCHAR(255) NOT NULL pk2',
      'table_name VARCHAR(255) NOT NULL pk3',
      'metadata_location VARCHAR(1000)',
      'previous_metadata_location VARCHAR(1000)',
      'iceberg_type VARCHAR(5)',
    ])
    expect(await shape('iceberg_namespace_properties')).toEqual([
      'catalog_name VARCHAR(255) NOT NULL pk1',
      'namespace VARCHAR(255) NOT NULL pk2',
      'property_key VARCHAR(255) pk3',
      'property_value VARCHAR(1000)',
    ])
    // The stored CREATE is Java's own text with the column its V1 upgrade adds.
    const created = await sql.query<{ sql: string }>(
      "SELECT sql FROM sqlite_master WHERE name = 'iceberg_tables'",
    )
    expect(created.rows[0].sql).toBe(
      'CREATE TABLE iceberg_tables(catalog_name VARCHAR(255) NOT NULL,table_namespace VARCHAR(255) NOT NULL,table_name VARCHAR(255) NOT NULL,metadata_location VARCHAR(1000),previous_metadata_location VARCHAR(1000), iceberg_type VARCHAR(5),PRIMARY KEY (catalog_name, table_namespace, table_name))',
    )
    await sql.close()
    opened.pop()
  })

  it("catalog/jdbc-catalog.sql holds Java's DDL strings verbatim (plus IF NOT EXISTS)", () => {
    const ddl = catalogDdl()
    expect(ddl).toEqual([
      'CREATE TABLE IF NOT EXISTS iceberg_tables(catalog_name VARCHAR(255) NOT NULL,table_namespace VARCHAR(255) NOT NULL,table_name VARCHAR(255) NOT NULL,metadata_location VARCHAR(1000),previous_metadata_location VARCHAR(1000),PRIMARY KEY (catalog_name, table_namespace, table_name))',
      'CREATE TABLE IF NOT EXISTS iceberg_namespace_properties(catalog_name VARCHAR(255) NOT NULL,namespace VARCHAR(255) NOT NULL,property_key VARCHAR(255),property_value VARCHAR(1000),PRIMARY KEY (catalog_name, namespace, property_key))',
      'ALTER TABLE iceberg_tables ADD COLUMN IF NOT EXISTS iceberg_type VARCHAR(5)',
    ])
  })
})

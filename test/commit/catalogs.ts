/**
 * One set-up per catalog type for the contract suite (contract.test.ts), each over real parts
 * where they can run here: real Postgres, the embedded SQLite file, PGlite, a local folder, an S3 server process that
 * enforces If-None-Match, Floe's own REST endpoint (write support on) in front of a jdbc catalog,
 * and — Glue being an AWS service — the recorded-behaviour double of the Glue API.
 */
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import Fastify from 'fastify'
import type { Catalog } from '../../src/table/catalog.ts'
import { GlueCatalog } from '../../src/commit/glue.ts'
import { HadoopCatalog } from '../../src/commit/hadoop.ts'
import { JdbcCatalog } from '../../src/commit/jdbc.ts'
import { RestCatalog } from '../../src/commit/rest.ts'
import { icebergRestPlugin } from '../../src/read/rest-catalog.ts'
import type { FileIO } from '../../src/storage/file-io.ts'
import { fileUri, LocalFileIO } from '../../src/storage/local.ts'
import { PgSql } from '../../src/storage/pg.ts'
import { PGliteSql } from '../../src/storage/pglite.ts'
import { SqliteSql } from '../../src/storage/sqlite.ts'
import { S3FileIO } from '../../src/storage/s3.ts'
import type { SqlClient } from '../../src/storage/sql.ts'
import { startGlueDouble } from '../support/glue-double.ts'
import { createTestDatabase } from '../support/pg.ts'
import { startConditionalTestS3 } from '../support/s3-conditional.ts'

export interface CatalogUnderTest {
  /** The writer's FileIO (data, manifests; metadata too for pointer catalogs). */
  io: FileIO
  /** Warehouse root URI: new tables go to `<warehouse>/<ns>/<table>`. */
  warehouse: string
  /** Endpoint of the S3 server when the warehouse is `s3://` (for independent readers). */
  s3Endpoint?: string
  /** A new, independent catalog client on the same catalog (own connection/HTTP client). */
  open(): Catalog
  teardown(): Promise<void>
}

export type CatalogSetup = () => Promise<CatalogUnderTest>

function tempWarehouse(): { dir: string; uri: string } {
  const dir = mkdtempSync(path.join(tmpdir(), 'floe-contract-'))
  return { dir, uri: fileUri(path.join(dir, 'warehouse')) }
}

/** Close every catalog handed out, then the shared resources. */
function tracked(make: () => Catalog, teardown: () => Promise<void>) {
  const opened: Catalog[] = []
  return {
    open: () => {
      const c = make()
      opened.push(c)
      return c
    },
    teardown: async () => {
      for (const c of opened) await c.close()
      await teardown()
    },
  }
}

/** jdbc over `newSql()`: each catalog instance gets its own client where the store allows it. */
async function jdbcOn(newSql: () => SqlClient, cleanup: () => Promise<void>): Promise<CatalogUnderTest> {
  const { dir, uri } = tempWarehouse()
  const io = new LocalFileIO()
  const clients = new Set<SqlClient>()
  const t = tracked(
    () => {
      const sql = newSql()
      clients.add(sql)
      return new JdbcCatalog({ sql, io, name: 'contract' })
    },
    async () => {
      for (const sql of clients) await sql.close()
      await cleanup()
      rmSync(dir, { recursive: true, force: true })
    },
  )
  return { io, warehouse: uri, ...t }
}

export const setups: [string, CatalogSetup][] = [
  [
    'jdbc on PostgreSQL',
    async () => {
      const db = await createTestDatabase('floe_contract')
      // A pool per catalog instance: concurrent writers really race on separate connections.
      return jdbcOn(() => new PgSql(db.url), db.drop)
    },
  ],
  [
    'jdbc on SQLite (the embedded default)',
    async () => {
      // One file that one process owns (it is locked exclusively): every catalog instance shares
      // the client, as Floe's stores do.
      const dir = mkdtempSync(path.join(tmpdir(), 'floe-contract-sqlite-'))
      const sqlite = SqliteSql.open(path.join(dir, 'floe.sqlite'))
      return jdbcOn(
        () => sqlite,
        async () => rmSync(dir, { recursive: true, force: true }),
      )
    },
  ],
  [
    'jdbc on PGlite',
    async () => {
      const pglite = await PGliteSql.open()
      // PGlite is one in-process database: every catalog instance shares it.
      return jdbcOn(
        () => pglite,
        async () => {},
      )
    },
  ],
  [
    'hadoop on a local folder',
    async () => {
      const { dir, uri } = tempWarehouse()
      const io = new LocalFileIO()
      const t = tracked(
        () => new HadoopCatalog({ io, warehouse: uri, name: 'contract' }),
        async () => rmSync(dir, { recursive: true, force: true }),
      )
      return { io, warehouse: uri, ...t }
    },
  ],
  [
    'hadoop on S3 (s3rver + If-None-Match enforcing layer)',
    async () => {
      const s3 = await startConditionalTestS3()
      const io = new S3FileIO({
        endpoint: s3.endpoint,
        region: 'us-east-1',
        forcePathStyle: true,
        accessKeyId: s3.accessKeyId,
        secretAccessKey: s3.secretAccessKey,
        conditionalWrites: true,
      })
      const warehouse = `s3://${s3.bucket}/warehouse`
      const t = tracked(
        () => new HadoopCatalog({ io, warehouse, name: 'contract' }),
        async () => {
          await s3.stop()
          rmSync(s3.dir, { recursive: true, force: true })
        },
      )
      return { io, warehouse, s3Endpoint: s3.endpoint, ...t }
    },
  ],
  [
    "rest (Floe's REST client → Floe's REST endpoint with writes on → jdbc on PostgreSQL)",
    async () => {
      const db = await createTestDatabase('floe_contract_rest')
      const { dir, uri } = tempWarehouse()
      const io = new LocalFileIO()
      const serverSql = new PgSql(db.url)
      const backing = new JdbcCatalog({ sql: serverSql, io, name: 'contract' })
      const app = Fastify()
      const token = 'contract-secret'
      await app.register(icebergRestPlugin, {
        prefix: '/iceberg',
        catalog: backing,
        io,
        readToken: token,
        writeEnabled: true,
        warehouse: uri,
      })
      const base = await app.listen({ port: 0, host: '127.0.0.1' })
      const t = tracked(
        // OAuth2 client credentials (`id:secret`), exchanged at /v1/oauth/tokens for the bearer token.
        () =>
          new RestCatalog({ uri: `${base}/iceberg`, credentials: `floe-test:${token}`, name: 'contract' }),
        async () => {
          await app.close()
          await backing.close()
          await serverSql.close()
          await db.drop()
          rmSync(dir, { recursive: true, force: true })
        },
      )
      return { io, warehouse: uri, ...t }
    },
  ],
  [
    'glue (recorded-behaviour double of the Glue API, not AWS)',
    async () => {
      const glue = await startGlueDouble()
      const { dir, uri } = tempWarehouse()
      const io = new LocalFileIO()
      const t = tracked(
        () =>
          new GlueCatalog({
            io,
            name: 'contract',
            region: 'us-east-1',
            endpoint: glue.endpoint,
            credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
          }),
        async () => {
          await glue.close()
          rmSync(dir, { recursive: true, force: true })
        },
      )
      return { io, warehouse: uri, ...t }
    },
  ],
]

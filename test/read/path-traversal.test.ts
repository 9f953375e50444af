/**
 * Issue 9 item 3: path traversal through the REST endpoint with the hadoop catalog. A table exists
 * outside the warehouse (`<dir>/outside/secretdb/pa_events`), and the exact URLs of the issue try
 * to reach it from a warehouse two levels below `<dir>`.
 */
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import Fastify, { type FastifyInstance } from 'fastify'
import { loadConfig } from '../../src/config.ts'
import { createCatalog, type Catalog } from '../../src/commit/index.ts'
import { HadoopCatalog } from '../../src/commit/hadoop.ts'
import { defaultTableLocation } from '../../src/commit/jdbc.ts'
import { icebergRestPlugin } from '../../src/read/rest-catalog.ts'
import { LocalFileIO, fileUri } from '../../src/storage/local.ts'
import { openFileIO } from '../../src/storage/index.ts'
import { createTableWriter } from '../../src/write/append.ts'
import { InvalidIdentifierError, OutsideWarehouseError } from '../../src/errors.ts'
import { PgSql } from '../../src/storage/pg.ts'
import { createTestDatabase } from '../support/pg.ts'

let dir: string
let app: FastifyInstance
let catalog: Catalog
let root: string

beforeAll(async () => {
  dir = mkdtempSync(path.join(tmpdir(), 'floe-traversal-'))
  root = path.join(dir, 'wh', 'root')
  // The secret table, outside the warehouse, written by a catalog rooted at <dir>.
  const outsideIo = new LocalFileIO()
  const outside = new HadoopCatalog({ io: outsideIo, warehouse: fileUri(dir) })
  await createTableWriter({
    catalog: outside,
    io: outsideIo,
    namespace: ['outside', 'secretdb'],
    warehouse: fileUri(dir),
  }).ensureTables()

  const config = loadConfig({ ICEBERG_CATALOG_TYPE: 'hadoop', ICEBERG_WAREHOUSE: root }, dir)
  const io = openFileIO(config)
  catalog = await createCatalog(config, { io })
  await createTableWriter({ catalog, io, config }).ensureTables()
  app = Fastify({ logger: false })
  await app.register(icebergRestPlugin, {
    prefix: '/iceberg',
    catalog,
    io,
    writeEnabled: false,
    warehouse: config.iceberg.warehouse,
  })
  await app.ready()
})
afterAll(async () => {
  await app?.close()
  rmSync(dir, { recursive: true, force: true })
})

const get = (url: string, method: 'GET' | 'HEAD' = 'GET') => app.inject({ method, url })

describe('REST endpoint with the hadoop catalog: names that would leave the warehouse', () => {
  it('serves the warehouse table itself (control)', async () => {
    const res = await get('/iceberg/v1/namespaces/analytics/tables/pa_events')
    expect(res.statusCode).toBe(200)
    expect(res.json()['metadata-location']).toContain(`${root}/analytics/pa_events/metadata/`)
  })

  it('GET and HEAD with ../ in the namespace answer 400, not the outside table', async () => {
    for (const method of ['GET', 'HEAD'] as const) {
      const res = await get('/iceberg/v1/namespaces/..%2F..%2Foutside%2Fsecretdb/tables/pa_events', method)
      expect(res.statusCode, `${method} ${res.body}`).toBe(400)
    }
    const body = (await get('/iceberg/v1/namespaces/..%2F..%2Foutside%2Fsecretdb/tables/pa_events')).json()
    expect(body.error).toMatchObject({ type: 'BadRequestException', code: 400 })
    expect(body.error.message).toMatch(/^namespace: /)
    expect(JSON.stringify(body)).not.toContain('metadata-location')
  })

  it('GET and HEAD with ../ in the table name answer 400', async () => {
    for (const method of ['GET', 'HEAD'] as const) {
      const res = await get(
        '/iceberg/v1/namespaces/analytics/tables/..%2F..%2F..%2Foutside%2Fsecretdb%2Fpa_events',
        method,
      )
      expect(res.statusCode, `${method} ${res.body}`).toBe(400)
    }
    expect(
      (
        await get('/iceberg/v1/namespaces/analytics/tables/..%2F..%2F..%2Foutside%2Fsecretdb%2Fpa_events')
      ).json().error.message,
    ).toMatch(/^table: /)
  })

  it('refuses `..` levels joined by the namespace separator, backslashes, NUL and control characters', async () => {
    for (const url of [
      '/iceberg/v1/namespaces/..%1F..%1Foutside%1Fsecretdb/tables/pa_events',
      '/iceberg/v1/namespaces/..%5C..%5Coutside/tables/pa_events',
      '/iceberg/v1/namespaces/analytics/tables/pa%00events',
      '/iceberg/v1/namespaces/analytics%0A/tables',
      '/iceberg/v1/namespaces?parent=..%1Foutside',
    ]) {
      const res = await get(url)
      expect(res.statusCode, `${url} ${res.body}`).toBe(400)
    }
  })
})

describe('identifiers are checked once for every catalog type', () => {
  const bad = [
    { namespace: ['..', '..', 'outside', 'secretdb'], name: 'pa_events' },
    { namespace: ['analytics'], name: '../../../outside/secretdb/pa_events' },
    { namespace: ['analytics'], name: 'a\\b' },
    { namespace: ['ana\u0000lytics'], name: 't' },
  ]

  it('hadoop (createCatalog): every method refuses with InvalidIdentifierError', async () => {
    for (const id of bad) {
      await expect(catalog.loadTable(id)).rejects.toBeInstanceOf(InvalidIdentifierError)
      await expect(catalog.commit(id, [], [])).rejects.toBeInstanceOf(InvalidIdentifierError)
    }
    await expect(catalog.createNamespaceIfAbsent(['..'])).rejects.toBeInstanceOf(InvalidIdentifierError)
    await expect(catalog.listTables(['..', '..', 'outside', 'secretdb'])).rejects.toBeInstanceOf(
      InvalidIdentifierError,
    )
  })

  it('jdbc (createCatalog) refuses the same names', async () => {
    const db = await createTestDatabase('floe_ident')
    const sql = new PgSql(db.url)
    try {
      const config = loadConfig({ DATABASE_URL: db.url, APP_SECRET: 's', ICEBERG_WAREHOUSE: root }, dir)
      const jdbc = await createCatalog(config, { sql, io: openFileIO(config) })
      for (const id of bad) await expect(jdbc.loadTable(id)).rejects.toBeInstanceOf(InvalidIdentifierError)
    } finally {
      await sql.close()
      await db.drop()
    }
  })
})

describe('storage paths are proven to stay under the warehouse root', () => {
  it('the default table location refuses names that would leave the root', () => {
    expect(() => defaultTableLocation('file:///w', { namespace: ['..'], name: 't' })).toThrow(
      InvalidIdentifierError,
    )
    expect(defaultTableLocation('file:///w/', { namespace: ['a', 'b'], name: 't' })).toBe('file:///w/a/b/t')
  })

  it('the local FileIO with a root refuses every operation outside it', async () => {
    const io = new LocalFileIO({ root })
    const outsideUri = fileUri(
      path.join(dir, 'outside', 'secretdb', 'pa_events', 'metadata', 'v1.metadata.json'),
    )
    const sneaky = `${fileUri(root)}/../../outside/secretdb/pa_events/metadata/v1.metadata.json`
    for (const uri of [outsideUri, sneaky, fileUri(root + '-sibling') + '/x']) {
      await expect(io.read(uri)).rejects.toBeInstanceOf(OutsideWarehouseError)
      await expect(io.exists(uri)).rejects.toBeInstanceOf(OutsideWarehouseError)
      await expect(io.write(uri, new Uint8Array([1]))).rejects.toBeInstanceOf(OutsideWarehouseError)
      await expect(io.writeIfAbsent(uri, new Uint8Array([1]))).rejects.toBeInstanceOf(OutsideWarehouseError)
      await expect(io.delete(uri)).rejects.toBeInstanceOf(OutsideWarehouseError)
      await expect(io.list(uri)).rejects.toBeInstanceOf(OutsideWarehouseError)
    }
    // …and still works inside it.
    expect((await io.list(fileUri(root) + '/analytics/pa_events/metadata/')).length).toBeGreaterThan(0)
  })
})

/**
 * A real backing for the REST endpoint tests: Floe's JdbcCatalog on a fresh PostgreSQL database,
 * a local-folder warehouse, tables created and appended to by the real write path
 * (createTableWriter), and the plugin served on a loopback port so HTTP clients (iceberg-js,
 * fetch) talk to it over the network like Trino or PyIceberg would.
 */
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import Fastify, { type FastifyInstance } from 'fastify'
import { JdbcCatalog } from '../../src/commit/jdbc.ts'
import { icebergRestPlugin, type IcebergRestOptions } from '../../src/read/rest-catalog.ts'
import type { EventRow, SessionRow } from '../../src/rows.ts'
import { LocalFileIO, fileUri } from '../../src/storage/local.ts'
import { PgSql } from '../../src/storage/pg.ts'
import { createTableWriter, type TableWriter } from '../../src/write/append.ts'
import { createTestDatabase } from '../support/pg.ts'
import { DESKTOP_CLIENT, eventRow as buildEventRow, sessionRow as buildSessionRow } from '../support/rows.ts'

export const TOKEN = 'read-token-for-tests'

export interface RestFixture {
  baseUrl: string
  app: FastifyInstance
  catalog: JdbcCatalog
  sql: PgSql
  io: LocalFileIO
  warehouse: string
  writer: TableWriter
  close(): Promise<void>
}

const SITE = '5f1c5b9e-4a43-4a55-9d38-3c1f1d2a7b10'
const CLIENT = { ...DESKTOP_CLIENT, browser: 'firefox' }

export function eventRow(i: number, over: Partial<EventRow> = {}): EventRow {
  const t = Date.UTC(2026, 0, 15, 10, 0, i) * 1000
  return buildEventRow({
    site_id: SITE,
    session_id: `00000000-0000-5000-8000-00000000000${i % 3}`,
    visit_id: `00000000-0000-5000-9000-00000000000${i % 3}`,
    event_time: t,
    received_at: t,
    url_path: `/page/${i % 2}`,
    page_title: 'Page',
    ...CLIENT,
    ...over,
  })
}

export function sessionRow(i: number): SessionRow {
  const t = Date.UTC(2026, 0, 15, 10, 0, i) * 1000
  return buildSessionRow({
    session_id: `00000000-0000-5000-8000-00000000000${i}`,
    site_id: SITE,
    created_at: t,
    updated_at: t,
    ...CLIENT,
  })
}

/** Tables `analytics.pa_events` (2 appends) and `analytics.pa_sessions` (1 append), plus `lab.nested`. */
export async function startRestFixture(
  options: Partial<Omit<IcebergRestOptions, 'catalog' | 'io' | 'warehouse'>> = {},
): Promise<RestFixture> {
  const db = await createTestDatabase('floe_read')
  const dir = mkdtempSync(path.join(tmpdir(), 'floe-read-'))
  const warehouse = fileUri(path.join(dir, 'warehouse'))
  const sql = new PgSql(db.url)
  const io = new LocalFileIO()
  const catalog = new JdbcCatalog({ sql, io, name: 'floe' })
  const writer = createTableWriter({ catalog, io, namespace: ['analytics'], warehouse })
  await writer.ensureTables()
  await writer.append('pa_events', [eventRow(0), eventRow(1), eventRow(2)])
  await writer.append('pa_events', [eventRow(3)])
  await writer.append('pa_sessions', [sessionRow(0), sessionRow(1)])
  await catalog.createNamespaceIfAbsent(['lab', 'nested'])

  const app = Fastify({ logger: false })
  await app.register(icebergRestPlugin, {
    prefix: '/iceberg',
    catalog,
    io,
    warehouse,
    readToken: TOKEN,
    writeEnabled: false,
    ...options,
  })
  const baseUrl = await app.listen({ port: 0, host: '127.0.0.1' })
  return {
    baseUrl,
    app,
    catalog,
    sql,
    io,
    warehouse,
    writer,
    async close() {
      await app.close()
      await catalog.close()
      await sql.close()
      await db.drop()
      rmSync(dir, { recursive: true, force: true })
    },
  }
}

/** fetch against the fixture with the token; returns status, raw text and (lossy) parsed JSON. */
export async function call(
  f: Pick<RestFixture, 'baseUrl'>,
  method: string,
  p: string,
  opts: { body?: string; token?: string | null; headers?: Record<string, string> } = {},
): Promise<{ status: number; text: string; json: any; headers: Headers }> {
  const token = opts.token === undefined ? TOKEN : opts.token
  const res = await fetch(`${f.baseUrl}/iceberg${p}`, {
    method,
    headers: {
      ...(token === null ? {} : { authorization: `Bearer ${token}` }),
      ...(opts.body !== undefined ? { 'content-type': 'application/json' } : {}),
      ...opts.headers,
    },
    body: opts.body,
  })
  const text = await res.text()
  let json: unknown
  try {
    json = text ? JSON.parse(text) : undefined
  } catch {
    json = undefined
  }
  return { status: res.status, text, json, headers: res.headers }
}

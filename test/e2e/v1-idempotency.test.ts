/**
 * `/v1/events` idempotency end to end, with real processes (`node --import tsx src/main.ts`), the
 * real Postgres and an s3rver warehouse: the same 100-event batch is sent 3 times, once more after
 * the process was SIGKILLed and restarted (same WAL directory), and once to a second replica
 * (another process and WAL on the same database). It lands exactly once: every event id once in
 * pa_events, read back with icebird (full scan) and DuckDB (the live Parquet files).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { randomUUID } from 'node:crypto'
import { rmSync } from 'node:fs'
import {
  adminFlush,
  createSite,
  floeEnv,
  freePort,
  spawnFloe,
  startServices,
  UA,
  type FloeProcess,
  type Services,
} from './support.ts'
import { metadataLocation, queryWithDuckDB, readWithIcebird } from './readback.ts'
import { PgSql } from '../../src/storage/index.ts'
import { KeyStore } from '../../src/sites/keys.ts'

let services: Services
let envA: Record<string, string>
let envB: Record<string, string>
const running: FloeProcess[] = []

beforeAll(async () => {
  services = await startServices('v1_events_idem')
  const common = { ICEBERG_FLUSH_INTERVAL_SECONDS: '300', ICEBERG_FLUSH_BATCH_SIZE: '100000' }
  envA = { ...floeEnv({ databaseUrl: services.db.url, s3: services.s3, port: await freePort() }), ...common }
  envB = { ...floeEnv({ databaseUrl: services.db.url, s3: services.s3, port: await freePort() }), ...common }
})

afterAll(async () => {
  for (const p of running) p.child.kill('SIGKILL')
  await services?.close()
  for (const e of [envA, envB]) if (e) rmSync(e.FLOE_DATA_DIR, { recursive: true, force: true })
})

async function start(env: Record<string, string>): Promise<FloeProcess> {
  const p = await spawnFloe(env)
  running.push(p)
  return p
}

interface V1Answer {
  accepted: number
  duplicates: number
  rejected: number
  events: { event_id: string; status: string }[]
}

let writeKey = ''

async function post(base: string, body: unknown): Promise<{ status: number; body: V1Answer }> {
  const res = await fetch(`${base}/v1/events`, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      'user-agent': UA,
      'x-forwarded-for': '203.0.113.9',
      'x-write-key': writeKey,
    },
    body: JSON.stringify(body),
  })
  return { status: res.status, body: (await res.json()) as V1Answer }
}

describe('the same /v1/events batch, again and again', () => {
  it(
    'lands once: 3 sends, a send after SIGKILL + restart, a send to a second replica',
    { timeout: 180_000 },
    async () => {
      const siteId = await createSite(services.db.url)
      const sql = new PgSql(services.db.url)
      writeKey = (await (await KeyStore.open(sql)).create(siteId, 'write')).token
      await sql.close()
      const now = Date.now()
      const ids = Array.from({ length: 100 }, () => randomUUID())
      const batch = {
        schema_version: 1,
        property_id: siteId,
        sent_at: new Date(now).toISOString(),
        events: ids.map((event_id, i) => ({
          event_id,
          type: i % 3 === 0 ? 'signup' : 'pageview',
          ts: new Date(now - i * 1000).toISOString(),
          context: { page: { url: `https://example.com/p/${i}`, title: `Page ${i}` } },
          identity: { visitor_id: `visitor-${i % 7}` },
          data: { i },
        })),
      }

      const a = await start(envA)
      const first = await post(a.base, batch)
      expect(first.status).toBe(200)
      expect(first.body).toMatchObject({ accepted: 100, duplicates: 0, rejected: 0 })
      for (let n = 0; n < 2; n++) {
        const again = await post(a.base, batch)
        expect(again.status).toBe(200)
        expect(again.body).toMatchObject({ accepted: 0, duplicates: 100, rejected: 0 })
        expect(new Set(again.body.events.map((e) => e.status))).toEqual(new Set(['duplicate']))
      }

      // SIGKILL with the rows still only in the WAL (no flush yet), then restart on the same WAL.
      a.child.kill('SIGKILL')
      await a.exited
      const a2 = await start(envA)
      const afterRestart = await post(a2.base, batch)
      expect(afterRestart.body).toMatchObject({ accepted: 0, duplicates: 100 })

      // A second replica: its own process and WAL, the same database.
      const b = await start(envB)
      const onB = await post(b.base, batch)
      expect(onB.body).toMatchObject({ accepted: 0, duplicates: 100 })
      // Half old, half new ids: only the new half lands.
      const fresh = ids.slice(0, 50).map(() => randomUUID())
      const mixed = {
        ...batch,
        events: batch.events.map((e, i) => (i < 50 ? { ...e, event_id: fresh[i] } : e)),
      }
      const mixedAnswer = await post(b.base, mixed)
      expect(mixedAnswer.body).toMatchObject({ accepted: 50, duplicates: 50 })

      expect((await adminFlush(a2.base)).status).toBe(200)
      expect((await adminFlush(b.base)).status).toBe(200)

      const location = await metadataLocation(services.db.url, 'pa_events')
      const rows = await readWithIcebird(location)
      const counts = new Map<string, number>()
      for (const r of rows) counts.set(String(r.event_id), (counts.get(String(r.event_id)) ?? 0) + 1)
      expect(rows).toHaveLength(150)
      for (const id of [...ids, ...fresh]) expect(counts.get(id)).toBe(1)
      expect(new Set(rows.map((r) => r.source))).toEqual(new Set(['v1']))

      const duck = await queryWithDuckDB(
        location,
        `SELECT count(*)::INT AS n, count(DISTINCT event_id)::INT AS ids FROM t WHERE site_id = '${siteId}'`,
      )
      expect(duck).toEqual([{ n: 150, ids: 150 }])

      for (const p of [a2, b]) {
        p.child.kill('SIGTERM')
        expect(await p.exited).toBe(0)
      }
      running.length = 0
    },
  )
})

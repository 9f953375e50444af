/**
 * The dead-letter table and its replay end to end, with real processes (`node --import tsx
 * src/main.ts`), the real Postgres and an s3rver warehouse:
 * - a /v1 batch refused for its signature, a /v1 event refused for its time, and an /api/send
 *   event refused for a field land in `pa_rejected` with reason, field, endpoint and received time,
 *   and no IP address anywhere (payload, headers, message), as icebird and DuckDB read it;
 * - after the fix (the site's signing secret removed) the signature refusals replay: accepted
 *   once; a second replay of the same selection replays nothing;
 * - after a restart with another fix (a wider EVENT_TIME_MAX_PAST_SECONDS) the time refusal
 *   replays once, the unfixable one is refused again (and stays replayable), and the earlier
 *   replay still does nothing;
 * - every replayed event is in `pa_events` exactly once.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { randomUUID } from 'node:crypto'
import { rmSync } from 'node:fs'
import {
  ADMIN_TOKEN,
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
import { SecretStore } from '../../src/sites/secrets.ts'

const CLIENT_IP = '81.2.69.142'
const FORWARDED_IP = '203.0.113.9'
let services: Services
let env: Record<string, string>
const running: FloeProcess[] = []

beforeAll(async () => {
  services = await startServices('dead_letter')
  env = {
    ...floeEnv({ databaseUrl: services.db.url, s3: services.s3, port: await freePort() }),
    ICEBERG_FLUSH_INTERVAL_SECONDS: '300',
    EVENT_TIME_MAX_PAST_SECONDS: String(2 * 86_400),
  }
}, 120_000)

afterAll(async () => {
  for (const p of running) p.child.kill('SIGKILL')
  await services?.close()
  if (env) rmSync(env.FLOE_DATA_DIR, { recursive: true, force: true })
})

async function start(extra: Record<string, string> = {}): Promise<FloeProcess> {
  // A generous start timeout: the suite runs beside other work on 2 shared cores.
  const p = await spawnFloe({ ...env, ...extra }, { startTimeoutMs: 150_000 })
  running.push(p)
  return p
}

async function stop(p: FloeProcess): Promise<void> {
  p.child.kill('SIGTERM')
  expect(await p.exited).toBe(0)
  running.splice(running.indexOf(p), 1)
}

async function postJson(
  base: string,
  path: string,
  body: unknown,
  headers: Record<string, string>,
): Promise<{ status: number; body: Record<string, unknown> }> {
  const res = await fetch(`${base}${path}`, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      'user-agent': UA,
      'x-forwarded-for': FORWARDED_IP,
      ...headers,
    },
    body: JSON.stringify(body),
  })
  return { status: res.status, body: (await res.json()) as Record<string, unknown> }
}

/** icebird's timestamp (ms number, Date or µs bigint) in ms. */
const ms = (v: unknown): number =>
  typeof v === 'bigint' ? Number(v / 1000n) : v instanceof Date ? v.getTime() : Number(v)

const admin = { authorization: `Bearer ${ADMIN_TOKEN}` }
const replay = (base: string, body: unknown) => postJson(base, '/api/admin/replay', body, admin)

describe('pa_rejected and POST /api/admin/replay', () => {
  it(
    'keeps refused events without IPs and replays each once, across a restart',
    { timeout: 240_000 },
    async () => {
      const siteId = await createSite(services.db.url)
      const sql = new PgSql(services.db.url)
      const writeKey = (await (await KeyStore.open(sql)).create(siteId, 'write')).token
      const secrets = await SecretStore.open(sql)
      await secrets.rotate(siteId)

      const now = Date.now()
      const signed = [randomUUID(), randomUUID()]
      const event = (event_id: string, tsMs: number) => ({
        event_id,
        type: 'pageview',
        ts: new Date(tsMs).toISOString(),
        context: { page: { url: `https://example.com/${event_id}` }, ip: CLIENT_IP },
        identity: { visitor_id: `v-${event_id}` },
        data: { relay: CLIENT_IP, plan: 'pro' },
      })
      const a = await start()
      // 1. Unsigned write-key request to a site with a signing secret: 401, both events kept.
      const unsigned = await postJson(
        a.base,
        '/v1/events',
        { property_id: siteId, events: signed.map((id) => event(id, now - 1000)) },
        { 'x-write-key': writeKey },
      )
      expect(unsigned.status).toBe(401)
      // 2. One event 3 days old (the window is 2 days): refused for its ts, the other accepted.
      const old = randomUUID()
      const fine = randomUUID()
      const mixed = await postJson(
        a.base,
        '/v1/events',
        { property_id: siteId, events: [event(old, now - 3 * 86_400_000), event(fine, now)] },
        admin,
      )
      expect(mixed.status).toBe(200)
      expect(mixed.body).toMatchObject({ accepted: 1, rejected: 1 })
      // 3. An /api/send event for the site with a bad field: 400, kept.
      const send = await postJson(
        a.base,
        '/api/send',
        { type: 'event', payload: { website: siteId, hostname: 'example.com', url: '/x', screen: 42 } },
        {},
      )
      expect(send.status).toBe(400)
      // Junk for an unknown site is not kept.
      const unknown = await postJson(
        a.base,
        '/api/send',
        { type: 'event', payload: { website: randomUUID(), url: '/x', screen: 42 } },
        {},
      )
      expect(unknown.status).toBe(400)
      expect((await adminFlush(a.base)).status).toBe(200)

      const location = await metadataLocation(services.db.url, 'pa_rejected')
      const rows = await readWithIcebird(location)
      expect(rows).toHaveLength(4)
      const byReason = (r: string) => rows.filter((x) => x.reason === r)
      expect(
        byReason('signature')
          .map((r) => r.event_id)
          .sort(),
      ).toEqual([...signed].sort())
      expect(
        byReason('invalid')
          .map((r) => [r.endpoint, r.field, r.event_id])
          .sort(),
      ).toEqual(
        [
          ['/api/send', 'payload.screen', null],
          ['/v1/events', 'events.0.ts', old],
        ].sort(),
      )
      for (const r of rows) {
        expect(r.site_id).toBe(siteId)
        expect(ms(r.received_at)).toBeGreaterThanOrEqual(now - 60_000)
        // No IP anywhere: not the client's, not the forwarding header's.
        const text = JSON.stringify(r, (_k, v: unknown) => (typeof v === 'bigint' ? String(v) : v))
        expect(text).not.toContain(CLIENT_IP)
        expect(text).not.toContain(FORWARDED_IP)
        expect(text).not.toContain(writeKey)
        const headers = Object.keys((r.headers ?? {}) as object)
        expect(headers).toContain('user-agent')
        for (const h of headers) expect(['user-agent', 'content-type', 'accept-language']).toContain(h)
      }
      const v1Payload = JSON.parse(String(byReason('signature')[0].payload)) as Record<string, any>
      expect(v1Payload.context.ip).toBeUndefined()
      expect(v1Payload.data).toEqual({ plan: 'pro' })
      // DuckDB reads the same: reasons per endpoint, and no IP in any payload.
      const duck = await queryWithDuckDB(
        location,
        `SELECT endpoint, reason, count(*)::INT AS n,
              count(*) FILTER (WHERE payload LIKE '%${CLIENT_IP}%' OR payload LIKE '%${FORWARDED_IP}%')::INT AS ips
       FROM t GROUP BY ALL ORDER BY ALL`,
      )
      expect(duck).toEqual([
        { endpoint: '/api/send', reason: 'invalid', n: 1, ips: 0 },
        { endpoint: '/v1/events', reason: 'invalid', n: 1, ips: 0 },
        { endpoint: '/v1/events', reason: 'signature', n: 2, ips: 0 },
      ])

      // Selection errors are 400s naming the field.
      expect((await replay(a.base, {})).status).toBe(400)
      expect((await replay(a.base, { reasons: ['nope'] })).status).toBe(400)
      const noAuth = await fetch(`${a.base}/api/admin/replay`, { method: 'POST', body: '{}' })
      expect(noAuth.status).toBe(401)

      // Before the fix the signature refusals replay fine too (the admin token needs no signature),
      // so fix first as an operator would: remove the secret.
      expect(await secrets.remove(siteId)).toBe(true)
      const first = await replay(a.base, { site_id: siteId, reasons: ['signature'] })
      expect(first.status).toBe(200)
      expect(first.body).toMatchObject({ selected: 2, skipped: 0, replayed: 2, accepted: 2, rejected: 0 })
      const again = await replay(a.base, { site_id: siteId, reasons: ['signature'] })
      expect(again.body).toMatchObject({ selected: 2, skipped: 2, replayed: 0, accepted: 0 })

      // The time refusal is still outside the window: refused again, and left replayable.
      const tooOld = await replay(a.base, { site_id: siteId, reasons: ['invalid'] })
      expect(tooOld.body).toMatchObject({ selected: 2, replayed: 2, accepted: 0, rejected: 2 })
      await stop(a)

      // Restart with the window widened: the time refusal replays once; the send one stays refused.
      const a2 = await start({ EVENT_TIME_MAX_PAST_SECONDS: String(7 * 86_400) })
      const fixed = await replay(a2.base, { site_id: siteId, reasons: ['invalid'] })
      expect(fixed.body).toMatchObject({ selected: 2, replayed: 2, accepted: 1, rejected: 1 })
      const events = fixed.body.events as { event_id: string | null; status: string; field?: string }[]
      expect(events.find((e) => e.event_id === old)?.status).toBe('accepted')
      expect(events.find((e) => e.event_id === null)).toMatchObject({
        status: 'rejected',
        field: 'payload.screen',
      })
      const after = await replay(a2.base, { site_id: siteId })
      expect(after.body).toMatchObject({ selected: 4, skipped: 3, replayed: 1, accepted: 0, rejected: 1 })
      // By id, across the restart: already replayed.
      const rejectedIdOfOld = String(rows.find((r) => r.event_id === old)!.rejected_id)
      const byId = await replay(a2.base, { ids: [rejectedIdOfOld] })
      expect(byId.body).toMatchObject({ selected: 1, skipped: 1, replayed: 0 })

      expect((await adminFlush(a2.base)).status).toBe(200)
      const landed = await readWithIcebird(await metadataLocation(services.db.url, 'pa_events'))
      const count = (id: string) => landed.filter((r) => r.event_id === id).length
      for (const id of [...signed, old, fine]) expect(count(id)).toBe(1)
      expect(ms(landed.find((r) => r.event_id === old)!.event_time)).toBe(now - 3 * 86_400_000)
      await stop(a2)
      await sql.close()
    },
  )
})

/**
 * What the Spark and Trino tests have Floe write, and what they expect back: real Floe (the app,
 * in this process, on a real Postgres JDBC catalog) receiving real Umami requests over HTTP
 * (`/api/send` and `/api/batch`), two sites, two days (explicit payload timestamps), three
 * visitors per site and an identify call per site, flushed with `POST /api/admin/flush`.
 *
 * Every event carries a unique marker in `event_data.marker`, so a reader can tell that each
 * accepted event is there exactly once.
 */
import { rmSync } from 'node:fs'
import { mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import type { FloeApp } from '../../../src/app.ts'
import { PgSql } from '../../../src/storage/index.ts'
import { SiteStore } from '../../../src/sites/store.ts'
import { adminFlush, floeEnv, startInProcess, UA, type Services } from '../../e2e/support.ts'
import { installFetchShim } from '../../e2e/readback.ts'
import { createTestDatabase } from '../../support/pg.ts'
import { startChunkedTestS3 } from './trino-s3.ts'

export const READ_TOKEN = 'engines-read-token'
export const CATALOG_NAME = 'floe'

export interface Site {
  id: string
  hostname: string
}

/** One event as sent. */
export interface SentEvent {
  marker: string
  siteId: string
  hostname: string
  /** UTC day of the payload timestamp, YYYY-MM-DD. */
  day: string
  ip: string
  path: string
  /** 1 pageview, 2 custom event (Umami's numbers). */
  type: 1 | 2
}

export interface FloeWriter {
  services: Services
  base: string
  sites: Site[]
  /** Every event accepted so far (all rounds). */
  sent: SentEvent[]
  /** Identify calls sent (their `id` makes a session of its own, as in Umami). */
  identified: { siteId: string; distinctId: string; day: string }[]
  /** Sends one round of events (labelled `round`) and identify calls; does not flush. */
  sendRound(round: string): Promise<void>
  /** POST /api/admin/flush; returns the number of snapshots committed per table. */
  flush(): Promise<Record<'pa_events' | 'pa_sessions', { records: number; snapshotIds: string[] }>>
  /** `s3://bucket/warehouse` or `file:///…`: where Floe writes the tables. */
  warehouse: string
  close(): Promise<void>
}

const PAGES = ['/', '/pricing', '/docs/ünïcode']
export const VISITOR_IPS = ['198.51.100.10', '198.51.100.11', '198.51.100.12']

/** Two days of timestamps (seconds): 1 and 2 days ago, inside the dev queries' 7-day window. */
export function dayTimestamps(now = Date.now()): number[] {
  const s = Math.floor(now / 1000)
  return [s - 2 * 86_400, s - 86_400]
}

export const utcDay = (seconds: number) => new Date(seconds * 1000).toISOString().slice(0, 10)

/**
 * Starts Postgres (a fresh database), s3rver and Floe. `storage: 'local'` makes Floe write a local
 * folder warehouse (file:// paths) instead of the S3 server.
 */
export async function startFloeWriter(opts: { storage: 's3' | 'local' }): Promise<FloeWriter> {
  // The S3 server understands the Java SDK's aws-chunked uploads (trino-s3.ts).
  const db = await createTestDatabase('floe_engines')
  const s3 = await startChunkedTestS3()
  installFetchShim(s3.endpoint)
  const services: Services = {
    db,
    s3,
    async close() {
      await s3.stop()
      await db.drop()
    },
  }
  const sites = [
    await createSite(services.db.url, 'shop', 'shop.example.com'),
    await createSite(services.db.url, 'blog', 'blog.example.org'),
  ]
  const env = floeEnv({ databaseUrl: services.db.url, s3: services.s3, port: 0 })
  env.ICEBERG_REST_READ_TOKEN = READ_TOKEN
  env.ICEBERG_CATALOG_NAME = CATALOG_NAME
  // Only the admin flush commits: the tests decide when a snapshot appears.
  env.ICEBERG_FLUSH_INTERVAL_SECONDS = '3600'
  env.ICEBERG_FLUSH_BATCH_SIZE = '100000'
  let warehouseDir: string | undefined
  if (opts.storage === 'local') {
    for (const k of Object.keys(env)) if (k.startsWith('ICEBERG_S3_')) delete env[k]
    warehouseDir = mkdtempSync(path.join(tmpdir(), 'floe-engines-wh-'))
    env.ICEBERG_WAREHOUSE = warehouseDir
  }
  const { app, base } = await startInProcess(env, 'warn')
  const sent: SentEvent[] = []
  const identified: FloeWriter['identified'] = []
  const [older, newer] = dayTimestamps()

  const post = async (route: string, body: unknown, ip: string): Promise<unknown> => {
    const res = await fetch(`${base}${route}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'user-agent': UA, 'x-forwarded-for': ip },
      body: JSON.stringify(body),
    })
    const text = await res.text()
    if (res.status !== 200) throw new Error(`${route} answered ${res.status}: ${text}`)
    return JSON.parse(text)
  }

  async function sendRound(round: string): Promise<void> {
    // The older day first: a session's created_at is the first event Floe sees of it.
    for (const ts of [older, newer]) {
      for (const site of sites) {
        const batch: { type: string; payload: unknown }[] = []
        for (const [v, ip] of VISITOR_IPS.entries()) {
          const t = ts + v * 60
          // Visitor v views the first 1 + (v === 0 ? 2 : 1) pages, then one custom event.
          const pages = v === 0 ? PAGES : PAGES.slice(0, 2)
          const items: { ev: SentEvent; payload: Record<string, unknown> }[] = []
          pages.forEach((p, i) => {
            const marker = `${round}-${site.hostname}-${ts}-${v}-pv${i}`
            items.push({
              ev: { marker, siteId: site.id, hostname: site.hostname, day: utcDay(t), ip, path: p, type: 1 },
              payload: { url: p, title: 'Ünïcode “title”', data: { marker } },
            })
          })
          const marker = `${round}-${site.hostname}-${ts}-${v}-signup`
          items.push({
            ev: {
              marker,
              siteId: site.id,
              hostname: site.hostname,
              day: utcDay(t),
              ip,
              path: '/pricing',
              type: 2,
            },
            payload: { url: '/pricing', name: 'signup', data: { marker, plan: 'pro', seats: 3 } },
          })
          for (const { ev, payload } of items) {
            const full = {
              website: site.id,
              hostname: site.hostname,
              language: 'de-DE',
              screen: '1920x1080',
              timestamp: t,
              ip,
              ...payload,
            }
            // Visitor 0 sends one by one over /api/send, the others go in one /api/batch per site.
            if (v === 0) await post('/api/send', { type: 'event', payload: full }, ip)
            else batch.push({ type: 'event', payload: full })
            sent.push(ev)
          }
        }
        const answer = (await post('/api/batch', batch, VISITOR_IPS[1])) as { errors: number }
        if (answer.errors !== 0) throw new Error(`batch rejected items: ${JSON.stringify(answer)}`)
      }
    }
    // Identify visitor 0 of each site (a pa_sessions row with distinct_id and session_data).
    for (const site of sites) {
      const payload = {
        website: site.id,
        hostname: site.hostname,
        id: `user-${site.hostname}`,
        timestamp: newer,
        ip: VISITOR_IPS[0],
        data: { plan: 'pro', round },
      }
      await post('/api/send', { type: 'identify', payload }, VISITOR_IPS[0])
      identified.push({ siteId: site.id, distinctId: payload.id, day: utcDay(newer) })
    }
  }

  return {
    services,
    base,
    sites,
    sent,
    identified,
    sendRound,
    warehouse: warehouseDir ? `file://${warehouseDir}` : `s3://${services.s3.bucket}/warehouse`,
    async flush() {
      const { status, body } = await adminFlush(base)
      if (status !== 200) throw new Error(`flush answered ${status}: ${JSON.stringify(body)}`)
      return (body as { tables: Awaited<ReturnType<FloeWriter['flush']>> }).tables
    },
    async close() {
      await (app as FloeApp).close(Date.now() + 5000)
      await services.close()
      if (warehouseDir) rmSync(warehouseDir, { recursive: true, force: true })
    },
  }
}

async function createSite(databaseUrl: string, name: string, domain: string): Promise<Site> {
  const sql = new PgSql(databaseUrl)
  try {
    const store = await SiteStore.open(sql)
    return { id: (await store.create({ name, domains: [domain] })).id, hostname: domain }
  } finally {
    await sql.close()
  }
}

/**
 * Sessions by the rule of Floe's (Umami's) session ids: one per site, visitor (or identify id) and
 * month; `firstDay` is the day of the first event of it that Floe saw.
 */
export function expectedSessions(
  w: Pick<FloeWriter, 'sent' | 'identified'>,
): { siteId: string; who: string; firstDay: string }[] {
  const m = new Map<string, { siteId: string; who: string; firstDay: string }>()
  const see = (siteId: string, who: string, day: string) => {
    const k = `${siteId}|${who}|${day.slice(0, 7)}`
    const s = m.get(k)
    if (!s) m.set(k, { siteId, who, firstDay: day })
  }
  for (const e of w.sent) see(e.siteId, e.ip, e.day)
  for (const i of w.identified) see(i.siteId, `id:${i.distinctId}`, i.day)
  return [...m.values()]
}

/** A UTC day (YYYY-MM-DD) from a timestamp as readers return it: µs bigint, Date or ISO string. */
export function dayOf(v: unknown): string {
  if (typeof v === 'bigint') return new Date(Number(v / 1000n)).toISOString().slice(0, 10)
  return new Date(v as string | Date).toISOString().slice(0, 10)
}

/** Count of `events` per key. */
export function countBy<T>(events: T[], key: (e: T) => string): Map<string, number> {
  const m = new Map<string, number>()
  for (const e of events) m.set(key(e), (m.get(key(e)) ?? 0) + 1)
  return m
}

/** Number of distinct values of `key` per group. */
export function distinctBy<T>(
  events: T[],
  group: (e: T) => string,
  key: (e: T) => string,
): Map<string, number> {
  const m = new Map<string, Set<string>>()
  for (const e of events) {
    const s = m.get(group(e)) ?? new Set<string>()
    s.add(key(e))
    m.set(group(e), s)
  }
  return new Map([...m].map(([k, s]) => [k, s.size]))
}

/**
 * A Floe table with known events, for the engines suite: the real app (createApp, as
 * `src/main.ts` builds it) on a fresh Postgres database and a local warehouse folder, listening on
 * a loopback port; events go in over HTTP (`/api/send`, `/api/batch`) and are committed with
 * `POST /api/admin/flush`, exactly as in production. The periodic flush is pushed out of the way,
 * so each `flush()` is one commit per table and the test knows which events each one holds.
 *
 * `knownRounds()` is the event set engines read back: two sites, two UTC days, unicode in titles,
 * names, tags and `event_data` keys and values, absent optional columns (nulls), explicit client
 * timestamps, nested and non-string `event_data` values (flattened to strings as Umami does), and an
 * identify that lands in `pa_sessions`.
 */
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import pino from 'pino'
import { createApp, type FloeApp } from '../../../src/app.ts'
import { loadConfig } from '../../../src/config.ts'
import { PgSql } from '../../../src/storage/index.ts'
import { SiteStore } from '../../../src/sites/store.ts'
import { createTestDatabase } from '../../support/pg.ts'

export const ADMIN_TOKEN = 'engines-admin-token'
export const READ_TOKEN = 'engines-read-token'
export const CATALOG_NAME = 'floe'
export const NAMESPACE = 'analytics'
const UA =
  'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Safari/537.36'

export interface FloeFixture {
  app: FloeApp
  /** `http://127.0.0.1:<port>` */
  base: string
  /** The Postgres database; '' for the embedded SQLite file (`<dataDir>/floe.sqlite`). */
  databaseUrl: string
  /** Absolute path of the warehouse folder; Iceberg locations are `file://` + this. */
  warehouse: string
  dataDir: string
  sites: [string, string]
  env: Record<string, string>
  /** Posts one Umami body to /api/send; throws unless 200. Returns the JSON answer. */
  send(body: object): Promise<Record<string, unknown>>
  /** Posts an array to /api/batch; throws unless every item was processed. */
  batch(items: object[]): Promise<void>
  /** POST /api/admin/flush; returns the answer. */
  flush(): Promise<unknown>
  /** Stops the in-process Floe (graceful drain); the database and folders stay (for a restart). */
  stop(): Promise<void>
  /** Stops Floe if running, drops the database, removes the folders. */
  close(): Promise<void>
}

export async function startFloe(opts: {
  catalogType: 'jdbc' | 'hadoop'
  dbPrefix: string
  extraEnv?: Record<string, string>
  /** The embedded default instead of Postgres: catalog and sites in `<dataDir>/floe.sqlite`. */
  embedded?: boolean
}): Promise<FloeFixture> {
  const db = opts.embedded ? undefined : await createTestDatabase(opts.dbPrefix)
  const dataDir = mkdtempSync(path.join(tmpdir(), 'floe-engines-'))
  const warehouse = path.join(dataDir, 'warehouse')
  const env: Record<string, string> = {
    HOST: '127.0.0.1',
    PORT: '0',
    ...(db ? { DATABASE_URL: db.url } : { FLOE_EMBEDDED_DB: 'sqlite' }),
    APP_SECRET: 'engines-secret',
    ADMIN_TOKEN,
    FLOE_DATA_DIR: dataDir,
    ICEBERG_WAREHOUSE: warehouse,
    ICEBERG_CATALOG_TYPE: opts.catalogType,
    ICEBERG_CATALOG_NAME: CATALOG_NAME,
    ICEBERG_NAMESPACE: NAMESPACE,
    ICEBERG_REST_READ_TOKEN: READ_TOKEN,
    // Only explicit flushes commit: the test knows which events each commit holds.
    ICEBERG_FLUSH_INTERVAL_SECONDS: '3600',
    ICEBERG_FLUSH_BATCH_SIZE: '100000',
    RATE_LIMIT_IP_PER_MINUTE: '0',
    RATE_LIMIT_SITE_PER_MINUTE: '0',
    LOG_LEVEL: 'warn',
    ...opts.extraEnv,
  }
  // Embedded, the app owns the database file (locked): sites are made through its admin API.
  const sql = db ? new PgSql(db.url) : undefined
  let sites: [string, string] | undefined
  try {
    if (sql) {
      const store = await SiteStore.open(sql)
      const a = await store.create({ name: 'engines A', domains: ['example.com'] })
      const b = await store.create({ name: 'engines B', domains: ['example.org'] })
      sites = [a.id, b.id]
    }
  } finally {
    await sql?.close()
  }
  const app = await createApp(loadConfig(env), { logger: pino({ level: 'warn' }) })
  await app.start()
  const base = await app.server.listen({ port: 0, host: '127.0.0.1' })
  sites ??= [
    await createSiteOver(base, 'engines A', 'example.com'),
    await createSiteOver(base, 'engines B', 'example.org'),
  ]

  let stopped = false
  const stop = async () => {
    if (stopped) return
    stopped = true
    await app.close(Date.now() + 10_000)
  }
  return {
    app,
    base,
    databaseUrl: db?.url ?? '',
    warehouse,
    dataDir,
    sites,
    env,
    ...clientFor(base),
    stop,
    async close() {
      await stop()
      await db?.drop()
      rmSync(dataDir, { recursive: true, force: true })
    },
  }
}

async function createSiteOver(base: string, name: string, domain: string): Promise<string> {
  const res = await fetch(`${base}/api/sites`, {
    method: 'POST',
    headers: { authorization: `Bearer ${ADMIN_TOKEN}`, 'content-type': 'application/json' },
    body: JSON.stringify({ name, domains: [domain] }),
  })
  if (res.status !== 201) throw new Error(`creating site ${name}: ${res.status} ${await res.text()}`)
  return ((await res.json()) as { id: string }).id
}

/** An Umami-speaking client of the Floe at `base` (in process or a child process). */
export function clientFor(base: string): Pick<FloeFixture, 'send' | 'batch' | 'flush'> {
  return {
    send: (body) => postTo(base, '/api/send', body),
    async batch(items) {
      const r = await postTo(base, '/api/batch', items)
      if (r.errors !== 0) throw new Error(`/api/batch rejected items: ${JSON.stringify(r.details)}`)
    },
    flush: () => postTo(base, '/api/admin/flush', undefined, { authorization: `Bearer ${ADMIN_TOKEN}` }),
  }
}

async function postTo(
  base: string,
  route: string,
  body: unknown,
  headers: Record<string, string> = {},
): Promise<Record<string, unknown>> {
  const res = await fetch(`${base}${route}`, {
    method: 'POST',
    headers: {
      ...(body === undefined ? {} : { 'content-type': 'application/json' }),
      'user-agent': UA,
      'x-forwarded-for': '198.51.100.23',
      ...headers,
    },
    body: body === undefined ? undefined : JSON.stringify(body),
  })
  const json = (await res.json()) as Record<string, unknown>
  if (res.status !== 200) throw new Error(`${route} answered ${res.status}: ${JSON.stringify(json)}`)
  return json
}

/** What a test expects of one `pa_events` row, from what it sent (not from Floe's code). */
export interface ExpectedEvent {
  /** Unique per event: the url path `/m/<marker>`. */
  marker: string
  site_id: string
  /** Epoch microseconds (`payload.timestamp` seconds × 10^6). */
  event_time: number
  event_type: number
  event_name: string | null
  page_title: string | null
  hostname: string
  tag: string | null
  distinct_id: string | null
  language: string | null
  screen: string | null
  event_data: Record<string, string> | null
  /** `YYYY-MM-DD` of event_time (UTC): the `day(event_time)` partition. */
  day: string
}

/** One Umami item to send and the row it must become (`identify` items make no event row). */
export interface Sent {
  body: { type: 'event' | 'identify'; payload: Record<string, unknown> }
  expected?: ExpectedEvent
}

/** `YYYY-MM-DD` of the UTC day `n` days before today. */
export function daysAgo(n: number): string {
  return new Date(Date.now() - n * 86_400_000).toISOString().slice(0, 10)
}

// Two whole past days inside Floe's accepted event-time window (EVENT_TIME_MAX_PAST_SECONDS,
// 7 days by default): every `at` time of the day lies in the past and within the window.
export const DAY_A = daysAgo(3)
export const DAY_B = daysAgo(2)
/** A day before both, with no events (pruning to nothing). */
export const DAY_EMPTY = daysAgo(4)

function seconds(day: string, hh: number, mm: number): number {
  return Date.parse(`${day}T${String(hh).padStart(2, '0')}:${String(mm).padStart(2, '0')}:07Z`) / 1000
}

interface EventSpec {
  marker: string
  site: string
  day: string
  at: [number, number]
  name?: string
  title?: string
  tag?: string
  id?: string
  language?: string
  screen?: string
  /** What is sent as `payload.data`. */
  data?: Record<string, unknown>
  /** What `event_data` must hold: the flattened data (Umami's rules: nested keys dotted, values as strings). */
  eventData?: Record<string, string> | null
}

export function eventItem(s: EventSpec): Sent {
  const ts = seconds(s.day, ...s.at)
  const payload: Record<string, unknown> = {
    website: s.site,
    hostname: 'example.com',
    url: `/m/${s.marker}`,
    timestamp: ts,
  }
  if (s.name !== undefined) payload.name = s.name
  if (s.title !== undefined) payload.title = s.title
  if (s.tag !== undefined) payload.tag = s.tag
  if (s.id !== undefined) payload.id = s.id
  if (s.language !== undefined) payload.language = s.language
  if (s.screen !== undefined) payload.screen = s.screen
  if (s.data !== undefined) payload.data = s.data
  return {
    body: { type: 'event', payload },
    expected: {
      marker: s.marker,
      site_id: s.site,
      event_time: ts * 1_000_000,
      event_type: s.name ? 2 : 1,
      event_name: s.name ?? null,
      page_title: s.title || null, // an empty title is stored as null (as Umami does)
      hostname: 'example.com',
      tag: s.tag ?? null,
      distinct_id: s.id ?? null,
      language: s.language ?? null,
      screen: s.screen ?? null,
      event_data: s.eventData === undefined ? null : s.eventData,
      day: s.day,
    },
  }
}

/**
 * Two rounds (one flush each) over both sites and both days. Round 1: two sends and a batch, plus
 * an identify. Round 2: a batch and a send. Each round's `via` says which route carries each item.
 */
export function knownRounds(sites: [string, string]): { send: Sent[]; batch: Sent[] }[] {
  const [s1, s2] = sites
  return [
    {
      send: [
        eventItem({
          marker: 'r1-a',
          site: s1,
          day: DAY_A,
          at: [9, 15],
          title: 'Grüße aus Köln — 日本語 👋',
          language: 'de-DE',
          screen: '1920x1080',
        }),
        eventItem({
          marker: 'r1-b',
          site: s1,
          day: DAY_A,
          at: [23, 59],
          name: 'signup ✓',
          tag: 'café',
          data: {
            plan: 'pro',
            'emoji 🎉': 'ja ✨',
            count: 42,
            ok: true,
            nested: { deep: 'ß' },
            nothing: null,
          },
          eventData: {
            plan: 'pro',
            'emoji 🎉': 'ja ✨',
            count: '42',
            ok: 'true',
            'nested.deep': 'ß',
            nothing: 'null',
          },
        }),
        {
          body: {
            type: 'identify',
            payload: { website: s2, id: 'user-ß', data: { name: 'Zoë', plan: 'team' } },
          },
        },
      ],
      batch: [
        eventItem({ marker: 'r1-c', site: s2, day: DAY_A, at: [0, 0] }),
        eventItem({ marker: 'r1-d', site: s1, day: DAY_B, at: [12, 30], data: {} }),
        eventItem({
          marker: 'r1-e',
          site: s2,
          day: DAY_B,
          at: [18, 45],
          name: 'ünïcødé',
          id: 'user-ß',
          data: { k: 'v' },
          eventData: { k: 'v' },
        }),
      ],
    },
    {
      batch: [
        eventItem({
          marker: 'r2-a',
          site: s1,
          day: DAY_A,
          at: [10, 0],
          language: 'ja-JP',
          title: '東京の天気',
        }),
        eventItem({
          marker: 'r2-b',
          site: s2,
          day: DAY_B,
          at: [1, 2],
          title: 'A long title that is cut to 16 characters in the bounds: ✂️✂️✂️',
          data: { '🔑': '𝄞 clef', empty: '' },
          eventData: { '🔑': '𝄞 clef', empty: '' },
        }),
        eventItem({ marker: 'r2-c', site: s1, day: DAY_B, at: [23, 0], tag: 'ÿ-tag' }),
        eventItem({ marker: 'r2-d', site: s2, day: DAY_A, at: [5, 5], name: 'click', screen: '390x844' }),
      ],
      send: [eventItem({ marker: 'r2-e', site: s1, day: DAY_B, at: [6, 6], title: '' })],
    },
  ]
}

/** Sends one round (the sends one by one, then the batch) and flushes. Returns the expected rows. */
export async function sendRound(
  floe: FloeFixture,
  round: { send: Sent[]; batch: Sent[] },
): Promise<ExpectedEvent[]> {
  for (const item of round.send) await floe.send(item.body)
  await floe.batch(round.batch.map((i) => i.body))
  await floe.flush()
  return [...round.send, ...round.batch].flatMap((i) => (i.expected ? [i.expected] : []))
}

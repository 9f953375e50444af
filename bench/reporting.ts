/**
 * Reporting latency: Floe's reporting endpoints over its Iceberg tables vs Umami's own SQL on
 * PostgreSQL with Umami's indexes, on the same events, in the same run.
 *
 *   nice -n 10 npx tsx bench/reporting.ts                       # 10M events, 90 days, 100 sites
 *   BENCH_EVENTS=1000000 nice -n 10 npx tsx bench/reporting.ts  # a quicker run
 *
 * Load (once per data set; kept in BENCH_DIR and the Postgres database `reporting_v1_bench_*`, and
 * reused by later runs): generated traffic (test/support/report-events.ts) written through Floe's
 * writer, several appends per day, then compacted by src/maintenance/compact.ts; the same rows
 * into Umami's schema (test/support/umami-postgres.ts), indexed after the load.
 *
 * Measure: the largest site, over its last 30 and all 90 days. Per endpoint, `cold` is the first
 * request after the server starts (fresh DuckDB, empty manifest and file caches; the OS page cache
 * is not dropped, on a shared machine) and `warm` the p50/p95 of BENCH_RUNS repeats. Umami's side
 * runs the same definitions' SQL on one Postgres connection: `cold` its first execution on a new
 * connection (plan cache empty, buffers as Postgres keeps them), `warm` the repeats.
 * RSS is this process's peak (Floe's server and DuckDB run in it).
 */
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import http from 'node:http'
import os from 'node:os'
import path from 'node:path'
import pino from 'pino'
import pg from 'pg'
import { LocalFileIO, fileUri } from '../src/storage/local.ts'
import { HadoopCatalog } from '../src/commit/hadoop.ts'
import { createTableWriter } from '../src/write/append.ts'
import { loadTraffic } from '../test/support/report-fixture.ts'
import { UmamiPostgres, type UmamiFilters } from '../test/support/umami-postgres.ts'
import { PG_ADMIN_URL } from '../test/support/pg.ts'
import { dayOf, siteIds } from '../test/support/report-events.ts'
import { createApp } from '../src/app.ts'
import { loadConfig } from '../src/config.ts'
import { PgSql } from '../src/storage/index.ts'
import { SiteStore } from '../src/sites/store.ts'
import type { QueryLayer } from '../src/report/query-layer.ts'
import { rewriteManifests } from '../src/maintenance/rewrite-manifests.ts'

const N = Number(process.env.BENCH_EVENTS ?? 10_000_000)
const DAYS = Number(process.env.BENCH_DAYS ?? 90)
const SITES = Number(process.env.BENCH_SITES ?? 100)
const RUNS = Number(process.env.BENCH_RUNS ?? 10)
// Appends per day (each writes one file per site): 5 reaches the compaction planner's default
// min-input-files; fewer makes the load faster and compaction is then run with that minimum.
const FLUSHES = Number(process.env.BENCH_FLUSHES_PER_DAY ?? 5)
const START = '2026-09-01'
const DIR = path.resolve(process.env.BENCH_DIR ?? `data/bench-reporting-${N}-${DAYS}-${SITES}-${FLUSHES}`)
// BENCH_DIR / BENCH_DB: measure a data set loaded under other settings (e.g. a load stopped early).
const DB = process.env.BENCH_DB ?? `reporting_v1_bench_${N}_${DAYS}_${SITES}_${FLUSHES}`
const NAMESPACE = ['analytics']

let peakRss = process.memoryUsage().rss
const sampler = setInterval(() => (peakRss = Math.max(peakRss, process.memoryUsage().rss)), 50)
const mb = (b: number) => (b / 2 ** 20).toFixed(0)

async function admin<T>(work: (c: pg.Client) => Promise<T>): Promise<T> {
  const c = new pg.Client({ connectionString: PG_ADMIN_URL })
  await c.connect()
  try {
    return await work(c)
  } finally {
    await c.end()
  }
}
const dbUrl = PG_ADMIN_URL.replace(/\/[^/]*$/, `/${DB}`)

const io = new LocalFileIO()
const warehouse = fileUri(path.join(DIR, 'warehouse'))
const catalog = new HadoopCatalog({ io, warehouse, name: 'bench' })
const fixtureFile = path.join(DIR, 'fixture.json')

if (!existsSync(fixtureFile)) {
  console.log(`loading ${N} events over ${DAYS} days and ${SITES} sites into ${DIR} and ${DB}`)
  rmSync(DIR, { recursive: true, force: true })
  mkdirSync(DIR, { recursive: true })
  await admin(async (c) => {
    await c.query(`DROP DATABASE IF EXISTS ${DB} WITH (FORCE)`)
    await c.query(`CREATE DATABASE ${DB}`)
  })
  const umami = await UmamiPostgres.open(dbUrl)
  const writer = createTableWriter({ catalog, io, namespace: NAMESPACE, warehouse })
  const t0 = performance.now()
  const report = await loadTraffic(
    { writer, catalog, io, namespace: NAMESPACE, umami },
    { events: N, days: DAYS, sites: SITES, start: START },
    {
      flushesPerDay: FLUSHES,
      ...(FLUSHES < 5 ? { minInputFiles: FLUSHES } : {}),
      onDay: (day, n) => {
        const d = day - dayOf(START) + 1
        if (d % 10 === 0)
          console.log(`  day ${d}/${DAYS}: ${n} events, ${((performance.now() - t0) / 1000).toFixed(0)} s`)
      },
    },
  )
  await umami.close()
  const summary = {
    ...report,
    perSite: Object.fromEntries(report.perSite),
    totalMs: performance.now() - t0,
    peakRssMb: Number(mb(peakRss)),
  }
  writeFileSync(fixtureFile, JSON.stringify(summary, null, 2))
  console.log(
    `loaded ${report.events} events (${report.sessions} sessions) in ${(summary.totalMs / 1000).toFixed(0)} s: ` +
      `Floe writes ${(report.writeMs / 1000).toFixed(0)} s in ${report.appends} appends, compaction ` +
      `${(report.compactMs / 1000).toFixed(0)} s (${report.compaction.filesRewritten} files -> ${report.compaction.filesWritten}); ` +
      `Postgres load ${(report.umamiLoadMs / 1000).toFixed(0)} s + indexes ${(report.umamiIndexMs / 1000).toFixed(0)} s; peak RSS ${mb(peakRss)} MB`,
  )
}
const fixture = JSON.parse(readFileSync(fixtureFile, 'utf8')) as {
  events: number
  perSite: Record<string, number>
  manifestsClustered?: boolean
}
// Data sets loaded before compaction and merging clustered their manifests by partition get their
// manifests rewritten so, once (src/maintenance/rewrite-manifests.ts), as maintenance leaves a
// table written today.
if (!fixture.manifestsClustered) {
  const t0 = performance.now()
  for (const name of ['pa_events', 'pa_sessions']) {
    const r = await rewriteManifests({ io, catalog, id: { namespace: NAMESPACE, name } })
    console.log(
      `rewrote the manifests of ${name}: ${r.manifestsReplaced} -> ${r.manifestsCreated} in ${((performance.now() - t0) / 1000).toFixed(0)} s`,
    )
  }
  fixture.manifestsClustered = true
  writeFileSync(fixtureFile, JSON.stringify(fixture, null, 2))
}
if (process.env.BENCH_LOAD_ONLY) {
  clearInterval(sampler)
  process.exit(0)
}

// ─── Measure ───────────────────────────────────────────────────────────────────────────────────

const site = siteIds({ sites: SITES })[0]
const lastDay = dayOf(START) + DAYS - 1
const window = (days: number) => ({
  startAt: (lastDay - days + 1) * 86_400_000,
  endAt: (lastDay + 1) * 86_400_000 - 1,
})

interface Timing {
  cold: number
  p50: number
  p95: number
}

/** The first call (cold), then RUNS more: p50/p95 of those. */
async function time(run: () => Promise<unknown>): Promise<Timing> {
  let t0 = performance.now()
  await run()
  const cold = performance.now() - t0
  const warm: number[] = []
  for (let i = 0; i < RUNS; i++) {
    t0 = performance.now()
    await run()
    warm.push(performance.now() - t0)
  }
  warm.sort((a, b) => a - b)
  const q = (p: number) => warm[Math.min(warm.length - 1, Math.ceil(p * warm.length) - 1)]
  return { cold, p50: q(0.5), p95: q(0.95) }
}

type Window = ReturnType<typeof window>

/** The endpoints: Floe's HTTP request, and Umami's SQL for the same question (where it has one). */
interface Endpoint {
  name: string
  floe: (w: Window) => string
  umami?: (u: UmamiPostgres, f: UmamiFilters) => Promise<unknown>
}
const umamiApi = (path: string, w: Window, extra = '') =>
  `/api/websites/${site}/${path}?startAt=${w.startAt}&endAt=${w.endAt}${extra}`
const v1 = (path: string, w: Window, extra = '') =>
  `/v1/properties/${site}/${path}?from=${new Date(w.startAt).toISOString()}&to=${new Date(w.endAt).toISOString()}${extra}`
const ENDPOINTS: Endpoint[] = [
  { name: 'Umami API stats', floe: (w) => umamiApi('stats', w), umami: (u, f) => u.getWebsiteStats(site, f) },
  {
    name: 'Umami API pageviews (day)',
    floe: (w) => umamiApi('pageviews', w, '&unit=day&timezone=UTC'),
    umami: (u, f) =>
      Promise.all([
        u.getPageviewStats(site, { ...f, unit: 'day' }),
        u.getSessionStats(site, { ...f, unit: 'day' }),
      ]),
  },
  ...['path', 'referrer', 'browser', 'country'].map((type): Endpoint => ({
    name: `Umami API metrics ${type}`,
    floe: (w) => umamiApi('metrics', w, `&type=${type}&limit=10`),
    umami: (u, f) => u.getMetrics(site, type, f, { limit: 10 }),
  })),
  { name: '/v1 overview', floe: (w) => v1('overview', w), umami: (u, f) => u.getWebsiteStats(site, f) },
  {
    name: '/v1 pages',
    floe: (w) => v1('pages', w, '&limit=10'),
    umami: (u, f) => u.getMetrics(site, 'path', f, { limit: 10 }),
  },
  { name: '/v1 campaigns', floe: (w) => v1('campaigns', w) },
  {
    name: '/v1 metrics (day)',
    floe: (w) => v1('metrics', w, '&interval=day&metrics=pageviews,unique_visitors,sessions'),
    umami: (u, f) =>
      Promise.all([
        u.getPageviewStats(site, { ...f, unit: 'day' }),
        u.getSessionStats(site, { ...f, unit: 'day' }),
      ]),
  },
]

// Floe's sites and keys live in their own database; the tables are the loaded warehouse (hadoop).
const floeDb = `${DB}_floe`
await admin(async (c) => {
  await c.query(`DROP DATABASE IF EXISTS ${floeDb} WITH (FORCE)`)
  await c.query(`CREATE DATABASE ${floeDb}`)
})
const ADMIN_TOKEN = 'bench-admin'
const env = {
  PORT: '0',
  HOST: '127.0.0.1',
  DATABASE_URL: PG_ADMIN_URL.replace(/\/[^/]*$/, `/${floeDb}`),
  APP_SECRET: 'bench',
  ADMIN_TOKEN,
  FLOE_DATA_DIR: path.join(DIR, 'floe-data'),
  ICEBERG_CATALOG_TYPE: 'hadoop',
  ICEBERG_WAREHOUSE: path.join(DIR, 'warehouse'),
  FLOE_MAINTENANCE_INTERVAL_SECONDS: '0',
  ICEBERG_REST_READ_TOKEN: 'bench-rest',
  // Slow-request lines would only interleave with the table (the bench measures them itself).
  LOG_LEVEL: 'error',
}
{
  const sql = new PgSql(env.DATABASE_URL)
  const sites = await SiteStore.open(sql)
  await sites.create({ name: 'bench', domains: ['example.com'] }, site)
  await sql.close()
}

let readKey = ''

function getJson(agent: http.Agent, url: string, token: string): Promise<unknown> {
  return new Promise((resolve, reject) => {
    http
      .get(url, { agent, headers: { authorization: `Bearer ${token}` } }, (res) => {
        const chunks: Buffer[] = []
        res.on('data', (c: Buffer) => chunks.push(c))
        res.on('end', () => {
          const body = Buffer.concat(chunks).toString('utf8')
          if (res.statusCode !== 200) reject(new Error(`${url}: ${res.statusCode} ${body}`))
          else resolve(JSON.parse(body))
        })
        res.on('error', reject)
      })
      .on('error', reject)
  })
}
/** A Floe server in this process, fresh (empty caches, new DuckDB) for each cold measurement. */
async function withFloe<T>(
  work: (get: (path: string) => Promise<unknown>, layer: QueryLayer) => Promise<T>,
): Promise<T> {
  const app = await createApp(loadConfig(env), { logger: pino({ level: 'error' }) })
  await app.start()
  const base = await app.server.listen({ port: 0, host: '127.0.0.1' })
  try {
    if (!readKey) {
      const res = await fetch(`${base}/api/sites/${site}/keys`, {
        method: 'POST',
        headers: { authorization: `Bearer ${ADMIN_TOKEN}`, 'content-type': 'application/json' },
        body: JSON.stringify({ kind: 'read' }),
      })
      readKey = ((await res.json()) as { token: string }).token
    }
    // One keep-alive agent per server: a pooled socket must never outlive its server (a later
    // server may get the same port).
    const agent = new http.Agent({ keepAlive: true, maxSockets: 1 })
    try {
      return await work((p) => getJson(agent, `${base}${p}`, readKey), app.layer)
    } finally {
      agent.destroy()
    }
  } finally {
    await app.close()
  }
}

const rssBefore = process.memoryUsage().rss
peakRss = rssBefore
const results: Array<{ endpoint: string; days: number; floe: Timing; umami?: Timing }> = []
// BENCH_WINDOWS: the ranges measured, in days back from the last day (default 30 and all days).
const WINDOWS = (process.env.BENCH_WINDOWS ?? `30,${DAYS}`).split(',').map(Number)
for (const days of WINDOWS) {
  const w = window(days)
  for (const e of ENDPOINTS) {
    let scan = ''
    const floe = await withFloe(async (get, layer) => {
      const t = await time(() => get(e.floe(w)))
      const l = layer.lastScan
      scan = `${l.files} files, ${l.manifestsRead}/${l.manifestsTotal} manifests`
      return t
    })
    let umami: Timing | undefined
    if (e.umami) {
      // A new connection per endpoint and range: its first execution is the "cold" one.
      const u = await UmamiPostgres.open(dbUrl, { max: 1 })
      const run = e.umami
      umami = await time(() => run(u, { startDate: new Date(w.startAt), endDate: new Date(w.endAt) }))
      await u.close()
    }
    results.push({ endpoint: e.name, days, floe, umami })
    console.log(
      `  ${e.name}, ${days} days: Floe p50 ${floe.p50.toFixed(1)} ms (${scan}), Umami p50 ${umami?.p50.toFixed(1) ?? '-'} ms; peak RSS so far ${mb(peakRss)} MB`,
    )
  }
}
clearInterval(sampler)

const fmt = (n: number) => (n < 10 ? n.toFixed(1) : n.toFixed(0))
const t = (x: Timing | undefined) => (x ? `${fmt(x.cold)} / ${fmt(x.p50)} / ${fmt(x.p95)}` : '—')
console.log(
  `\n${fixture.events} events, ${SITES} sites, ${DAYS} days; the largest site: ${fixture.perSite[site]} events; ` +
    `${RUNS} warm runs each; load average ${os.loadavg()[0].toFixed(1)}`,
)
console.log(
  '| endpoint | days | Floe cold / p50 / p95 ms | Umami SQL on Postgres cold / p50 / p95 ms | Umami p50 ÷ Floe p50 |',
)
console.log('|---|---|---|---|---|')
for (const r of results)
  console.log(
    `| ${r.endpoint} | ${r.days} | ${t(r.floe)} | ${t(r.umami)} | ${r.umami ? `${(r.umami.p50 / r.floe.p50).toFixed(1)}x` : '—'} |`,
  )
console.log(
  `peak RSS of this process (Floe server + DuckDB + the bench): ${mb(peakRss)} MB (${mb(rssBefore)} MB before the first server)`,
)

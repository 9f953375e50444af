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
import path from 'node:path'
import pg from 'pg'
import { LocalFileIO, fileUri } from '../src/storage/local.ts'
import { HadoopCatalog } from '../src/commit/hadoop.ts'
import { createTableWriter } from '../src/write/append.ts'
import { loadTraffic } from '../test/support/report-fixture.ts'
import { UmamiPostgres, type UmamiFilters } from '../test/support/umami-postgres.ts'
import { PG_ADMIN_URL } from '../test/support/pg.ts'
import { dayOf, siteIds } from '../test/support/report-events.ts'

const N = Number(process.env.BENCH_EVENTS ?? 10_000_000)
const DAYS = Number(process.env.BENCH_DAYS ?? 90)
const SITES = Number(process.env.BENCH_SITES ?? 100)
const RUNS = Number(process.env.BENCH_RUNS ?? 10)
// Appends per day (each writes one file per site): 5 reaches the compaction planner's default
// min-input-files; fewer makes the load faster and compaction is then run with that minimum.
const FLUSHES = Number(process.env.BENCH_FLUSHES_PER_DAY ?? 5)
const START = '2026-09-01'
const DIR = path.resolve(process.env.BENCH_DIR ?? `data/bench-reporting-${N}-${DAYS}-${SITES}-${FLUSHES}`)
const DB = `reporting_v1_bench_${N}_${DAYS}_${SITES}_${FLUSHES}`
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
}
if (process.env.BENCH_LOAD_ONLY) {
  clearInterval(sampler)
  process.exit(0)
}

// ─── Measure ───────────────────────────────────────────────────────────────────────────────────

const site = siteIds({ sites: SITES })[0]
const lastDay = dayOf(START) + DAYS - 1
const range = (days: number): UmamiFilters => ({
  startDate: new Date((lastDay - days + 1) * 86_400_000),
  endDate: new Date((lastDay + 1) * 86_400_000 - 1),
})

interface Timing {
  cold: number
  p50: number
  p95: number
}

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
  const q = (p: number) => warm[Math.min(warm.length - 1, Math.floor(p * warm.length))]
  return { cold, p50: q(0.5), p95: q(0.95) }
}

/** The endpoints, each with Umami's SQL for the same question. */
const umamiQueries: Record<string, (u: UmamiPostgres, f: UmamiFilters) => Promise<unknown>> = {
  stats: (u, f) => u.getWebsiteStats(site, f),
  pageviews: (u, f) =>
    Promise.all([
      u.getPageviewStats(site, { ...f, unit: 'day' }),
      u.getSessionStats(site, { ...f, unit: 'day' }),
    ]),
  'metrics path': (u, f) => u.getMetrics(site, 'path', f, { limit: 10 }),
  'metrics referrer': (u, f) => u.getMetrics(site, 'referrer', f, { limit: 10 }),
  'metrics browser': (u, f) => u.getMetrics(site, 'browser', f, { limit: 10 }),
  'metrics country': (u, f) => u.getMetrics(site, 'country', f, { limit: 10 }),
}

const results: Array<{ endpoint: string; days: number; umami: Timing }> = []
for (const days of [30, DAYS]) {
  const f = range(days)
  for (const [endpoint, q] of Object.entries(umamiQueries)) {
    // A new connection per endpoint and range: its first execution is the "cold" one.
    const u = await UmamiPostgres.open(dbUrl, { max: 1 })
    results.push({ endpoint, days, umami: await time(() => q(u, f)) })
    await u.close()
  }
}

clearInterval(sampler)
const fmt = (n: number) => (n < 10 ? n.toFixed(1) : n.toFixed(0))
console.log(
  `\n${fixture.events} events, ${SITES} sites, ${DAYS} days; site ${site}: ${fixture.perSite[site]} events; ${RUNS} warm runs`,
)
console.log('| endpoint | days | Umami SQL on Postgres: cold / p50 / p95 ms |')
console.log('|---|---|---|')
for (const r of results)
  console.log(
    `| ${r.endpoint} | ${r.days} | ${fmt(r.umami.cold)} / ${fmt(r.umami.p50)} / ${fmt(r.umami.p95)} |`,
  )
console.log(`peak RSS of this process: ${mb(peakRss)} MB`)

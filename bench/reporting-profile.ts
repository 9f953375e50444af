/**
 * Where a warm reporting request spends its time: the phases of the query layer (catalog load,
 * plan, DuckDB) for the Umami stats query of the largest site over 30 and 90 days, timed apart,
 * in wall and CPU time (process.cpuUsage: DuckDB's threads count in it).
 *
 *   BENCH_EVENTS=1000000 nice -n 10 npx tsx bench/reporting-profile.ts
 *   BENCH_DIR=data/bench-reporting-10000000-90-100-2 nice -n 10 npx tsx bench/reporting-profile.ts
 *
 * Loads (once, Floe only, no Postgres) generated traffic through Floe's writer and compacts it as
 * bench/reporting.ts does, unless BENCH_DIR already holds a warehouse.
 */
import { existsSync, mkdirSync } from 'node:fs'
import path from 'node:path'
import { LocalFileIO, fileUri } from '../src/storage/local.ts'
import { HadoopCatalog } from '../src/commit/hadoop.ts'
import { createTableWriter } from '../src/write/append.ts'
import { loadTraffic } from '../test/support/report-fixture.ts'
import { dayOf, siteIds } from '../test/support/report-events.ts'
import { loadConfig } from '../src/config.ts'
import { QueryLayer } from '../src/report/query-layer.ts'
import { UmamiQueries } from '../src/report/umami/queries.ts'

const N = Number(process.env.BENCH_EVENTS ?? 1_000_000)
const DAYS = Number(process.env.BENCH_DAYS ?? 90)
const SITES = Number(process.env.BENCH_SITES ?? 100)
const RUNS = Number(process.env.BENCH_RUNS ?? 10)
const FLUSHES = Number(process.env.BENCH_FLUSHES_PER_DAY ?? 2)
const START = '2026-09-01'
const DIR = path.resolve(process.env.BENCH_DIR ?? `data/bench-profile-${N}-${DAYS}-${SITES}-${FLUSHES}`)
const NAMESPACE = ['analytics']

const io = new LocalFileIO()
const warehouse = fileUri(path.join(DIR, 'warehouse'))
const catalog = new HadoopCatalog({ io, warehouse, name: 'bench' })

if (!existsSync(path.join(DIR, 'warehouse'))) {
  mkdirSync(DIR, { recursive: true })
  const writer = createTableWriter({ catalog, io, namespace: NAMESPACE, warehouse })
  const t0 = performance.now()
  const r = await loadTraffic(
    { writer, catalog, io, namespace: NAMESPACE },
    { events: N, days: DAYS, sites: SITES, start: START },
    { flushesPerDay: FLUSHES, ...(FLUSHES < 5 ? { minInputFiles: FLUSHES } : {}) },
  )
  console.log(`loaded ${r.events} events in ${((performance.now() - t0) / 1000).toFixed(0)} s`)
}

let peakRss = process.memoryUsage().rss
const rssBefore = peakRss
const sampler = setInterval(() => (peakRss = Math.max(peakRss, process.memoryUsage().rss)), 20)
const config = loadConfig({
  ...(process.env.FLOE_REPORT_DUCKDB_THREADS
    ? { FLOE_REPORT_DUCKDB_THREADS: process.env.FLOE_REPORT_DUCKDB_THREADS }
    : {}),
  ...(process.env.FLOE_REPORT_DUCKDB_MEMORY_MB
    ? { FLOE_REPORT_DUCKDB_MEMORY_MB: process.env.FLOE_REPORT_DUCKDB_MEMORY_MB }
    : {}),
  APP_SECRET: 'bench',
  FLOE_DATA_DIR: path.join(DIR, 'floe-data'),
  ICEBERG_CATALOG_TYPE: 'hadoop',
  ICEBERG_WAREHOUSE: path.join(DIR, 'warehouse'),
})
const layer = await QueryLayer.open({ catalog, io, namespace: NAMESPACE, config: config.report })
const queries = new UmamiQueries(layer)
const site = siteIds({ sites: SITES })[0]
const lastDay = dayOf(START) + DAYS - 1

interface Phase {
  wall: number[]
  cpu: number[]
}
const phases = new Map<string, Phase>()
async function timed<T>(name: string, work: () => Promise<T>): Promise<T> {
  const c0 = process.cpuUsage()
  const t0 = performance.now()
  const out = await work()
  const c = process.cpuUsage(c0)
  const p = phases.get(name) ?? { wall: [], cpu: [] }
  p.wall.push(performance.now() - t0)
  p.cpu.push((c.user + c.system) / 1000)
  phases.set(name, p)
  return out
}
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]

for (const days of [30, DAYS]) {
  phases.clear()
  const range = {
    startDate: new Date((lastDay - days + 1) * 86_400_000),
    endDate: new Date((lastDay + 1) * 86_400_000 - 1),
    unit: 'day' as const,
    timezone: 'UTC',
  }
  const scope = { siteId: site, range, filters: [], match: 'all' as const }
  for (let i = 0; i <= RUNS; i++) {
    const loaded = await timed('catalog load (pa_events)', () => layer.load('pa_events'))
    await timed('plan (warm manifests)', () =>
      layer.planner.plan(loaded!, {
        days: { column: 'event_time', from: lastDay - days + 1, to: lastDay },
        values: { column: 'site_id', in: new Set([site]) },
      }),
    )
    await timed('stats query, whole (load + plan + DuckDB)', () => queries.stats(scope))
    await timed('pageviews series, whole', () => queries.pageviewSeries(scope))
    await timed('metrics path, whole', () => queries.metrics(scope, 'path', { limit: 10, offset: 0 }))
    if (i === 0) for (const p of phases.values()) ((p.wall.length = 0), (p.cpu.length = 0))
  }
  console.log(`\n${days} days, site ${site}: ${layer.lastScan.files} files, ${layer.lastScan.bytes} bytes`)
  console.log('| phase | wall p50 ms | CPU p50 ms |\n|---|---|---|')
  for (const [name, p] of phases)
    console.log(`| ${name} | ${median(p.wall).toFixed(1)} | ${median(p.cpu).toFixed(1)} |`)
}
layer.close()
clearInterval(sampler)
console.log(
  `\npeak RSS ${(peakRss / 2 ** 20).toFixed(0)} MB (${(rssBefore / 2 ** 20).toFixed(0)} MB before the query layer); ` +
    `DuckDB threads ${config.report.duckdbThreads}, memory limit ${config.report.duckdbMemoryMb} MB`,
)

/**
 * The cost of scaling sampled rows in the Umami website API: Floe's weighted queries (stats,
 * pageviews per hour, path metrics, expanded path metrics) vs the same questions counted unweighted
 * (the queries before scaling, the reference), in the same run, over the same table.
 *
 *   BENCH_ROWS=200000 BENCH_RUNS=5 nice -n 10 npx tsx bench/report-sampling.ts
 *
 * Local folder warehouse, hadoop catalog (no database); a third of the rows at rate 0.1, a third at
 * 0.5, a third unsampled. DuckDB with Floe's report defaults (2 threads).
 */
import { mkdtempSync, rmSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { loadConfig } from '../src/config.ts'
import { LocalFileIO, fileUri } from '../src/storage/local.ts'
import { HadoopCatalog } from '../src/commit/hadoop.ts'
import { createTableWriter } from '../src/write/append.ts'
import { QueryLayer } from '../src/report/query-layer.ts'
import { UmamiQueries, type QueryScope } from '../src/report/umami/queries.ts'
import { sampleEvents, SITES, T0 } from '../test/support/rows.ts'

const ROWS = Number(process.env.BENCH_ROWS ?? 200_000)
const RUNS = Number(process.env.BENCH_RUNS ?? 5)

const dir = mkdtempSync(path.join(os.tmpdir(), 'floe-bench-sampling-'))
const io = new LocalFileIO()
const catalog = new HadoopCatalog({ io, warehouse: fileUri(dir), name: 'bench' })
const writer = createTableWriter({ catalog, io, namespace: ['analytics'], warehouse: fileUri(dir) })
await writer.ensureTables()
const RATES = [0.1, 0.5, null]
for (let start = 0; start < ROWS; start += 50_000)
  await writer.append(
    'pa_events',
    sampleEvents(Math.min(50_000, ROWS - start), 0, start).map((e, i) => ({
      ...e,
      sample_rate: RATES[Math.floor((start + i) / 5) % 3], // by session (5 rows each)
    })),
  )

const config = loadConfig({ APP_SECRET: 's', FLOE_DATA_DIR: dir })
const layer = await QueryLayer.open({
  catalog,
  io,
  namespace: ['analytics'],
  config: config.report,
  live: { pending: () => ({ writerId: 'bench', entries: [] }) },
})
const queries = new UmamiQueries(layer)
const from = new Date(Math.floor(T0 / 1000) - 3600_000)
const to = new Date(Math.floor(T0 / 1000) + ROWS * 1000 + 3600_000)
const scope: QueryScope = {
  siteId: SITES[0],
  range: { startDate: from, endDate: to, unit: 'hour', timezone: 'UTC' },
  filters: [],
  match: 'all',
}
const scan = (extra: string[] = []) => ({
  siteIds: [SITES[0]],
  from,
  to,
  events: ['session_id', 'visit_id', 'event_type', 'event_time', ...extra],
})
const o = { limit: 100, offset: 0 }

/** The unweighted queries (as before scaling), the reference. */
const reference: Record<string, () => Promise<unknown>> = {
  stats: () =>
    layer.query(
      scan(),
      `SELECT coalesce(sum(c), 0)::BIGINT AS pageviews, count(DISTINCT session_id)::BIGINT AS visitors,
              count(DISTINCT visit_id)::BIGINT AS visits,
              coalesce(sum(CASE WHEN c = 1 THEN 1 ELSE 0 END), 0)::BIGINT AS bounces,
              coalesce(sum(floor(epoch(max_time) - epoch(min_time))), 0)::BIGINT AS totaltime
       FROM (SELECT session_id, visit_id, count(*) AS c, min(event_time) AS min_time, max(event_time) AS max_time
             FROM events WHERE event_type = 1 GROUP BY 1, 2) t`,
      {},
    ),
  pageviews: () =>
    layer.query(
      scan(),
      `SELECT strftime(date_trunc('hour', timezone('UTC', event_time)), '%Y-%m-%d %H:%M:%S') AS x,
              count(*)::BIGINT AS pageviews, count(DISTINCT session_id)::BIGINT AS sessions
       FROM events WHERE event_type = 1 GROUP BY 1 ORDER BY 1`,
      {},
    ),
  'metrics path': () =>
    layer.query(
      scan(['url_path']),
      `SELECT url_path AS x, count(DISTINCT session_id)::BIGINT AS y FROM events WHERE event_type = 1
       GROUP BY 1 ORDER BY 2 DESC, 1 LIMIT 100`,
      {},
    ),
  'expanded path': () =>
    layer.query(
      scan(['url_path']),
      `SELECT name, sum(c)::BIGINT AS pageviews, count(DISTINCT session_id)::BIGINT AS visitors,
              count(DISTINCT visit_id)::BIGINT AS visits, sum(CASE WHEN c = 1 THEN 1 ELSE 0 END)::BIGINT AS bounces,
              sum(floor(epoch(max_time) - epoch(min_time)))::BIGINT AS totaltime
       FROM (SELECT url_path AS name, session_id, visit_id, count(*) AS c,
                    min(event_time) AS min_time, max(event_time) AS max_time
             FROM events WHERE event_type <> 2 GROUP BY 1, 2, 3) t
       WHERE name IS NOT NULL AND name <> ''
       GROUP BY name ORDER BY visitors DESC, visits DESC, name LIMIT 100`,
      {},
    ),
}
const weighted: Record<string, () => Promise<unknown>> = {
  stats: () => queries.stats(scope),
  pageviews: () => queries.pageviewSeries(scope),
  'metrics path': () => queries.metrics(scope, 'path', o),
  'expanded path': () => queries.expandedMetrics(scope, 'path', o),
}

async function medianMs(f: () => Promise<unknown>): Promise<number> {
  await f() // warm: plan cached, files in the OS cache
  const times: number[] = []
  for (let r = 0; r < RUNS; r++) {
    const t0 = performance.now()
    await f()
    times.push(performance.now() - t0)
  }
  return times.sort((a, b) => a - b)[Math.floor(times.length / 2)]
}

console.log(`${ROWS} rows, ${RUNS} runs, load average ${os.loadavg()[0].toFixed(1)}`)
for (const name of Object.keys(reference)) {
  const ref = await medianMs(reference[name])
  const w = await medianMs(weighted[name])
  console.log(
    `${name}: weighted ${w.toFixed(0)} ms vs unweighted ${ref.toFixed(0)} ms: ${(w / ref).toFixed(2)}x`,
  )
}
layer.close()
rmSync(dir, { recursive: true, force: true })

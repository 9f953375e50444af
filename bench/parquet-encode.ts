/**
 * Parquet encoding: Floe's path (in-memory rows as the buffer holds them → validate → Arrow
 * vectors → parquet-wasm, ZSTD) against DuckDB reading the same rows from NDJSON and writing
 * `COPY ... (FORMAT parquet, COMPRESSION zstd)` with one thread, in one run.
 *
 *   npx tsx bench/parquet-encode.ts [rows=200000]      (BENCH_RUNS=2: best of N alternating runs)
 *
 * Each side runs in its own child process so peak RSS (maxRSS) is measured separately; ratios are
 * Floe / DuckDB. Targets: time within 3x, file size within 1.2x. CPU time (process, all threads) is
 * printed too: on the shared 2-core machine wall times swing 2x with other helpers' load.
 */
import { execFileSync } from 'node:child_process'
import { mkdtempSync, statSync, writeFileSync, createWriteStream } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { eventRows } from '../test/write/support/event-rows.ts'
import { encodeParquet } from '../src/write/parquet.ts'
import { validateRows } from '../src/write/validate.ts'
import { fileMetrics } from '../src/write/metrics.ts'
import { loadTableDefinition } from '../src/write/table-definition.ts'

const N = Number(process.argv[3] ?? process.argv[2] ?? 200_000) || 200_000
const mode = process.argv[2]
const RUNS = Number(process.env.BENCH_RUNS ?? 2)
const def = loadTableDefinition('pa_events')

interface Result {
  ms: number
  /** CPU time of the process (all threads) over the same span: steadier than wall time on a busy machine. */
  cpuMs: number
  bytes: number
  maxRssMB: number
  extra?: Record<string, number>
}

function cpuMs(): number {
  const u = process.cpuUsage()
  return (u.user + u.system) / 1000
}

async function runFloe(out: string): Promise<Result> {
  const rows = eventRows(N, { seed: 42, sites: 3 })
  // warm-up on a small batch (WASM compile, JIT), as a long-running server would be
  encodeParquet(def.schema, rows.slice(0, 1000))
  const c0 = cpuMs()
  const t0 = performance.now()
  validateRows('pa_events', def.schema, rows as never)
  const bytes = encodeParquet(def.schema, rows)
  const ms = performance.now() - t0
  const cpu = cpuMs() - c0
  const t1 = performance.now()
  fileMetrics(bytes, def.schema)
  const metricsMs = performance.now() - t1
  writeFileSync(out, bytes)
  const maxRssMB = process.resourceUsage().maxRSS / 1024
  // Steady state: the same batch again, as a server's next flush of that size (WASM memory already
  // grown, code hot). Reported beside the first encode, which the targets use.
  const t2 = performance.now()
  validateRows('pa_events', def.schema, rows as never)
  encodeParquet(def.schema, rows)
  const secondMs = performance.now() - t2
  return { ms, cpuMs: cpu, bytes: bytes.length, maxRssMB, extra: { metricsMs, secondMs } }
}

const DUCK_COLUMNS = def.schema.fields
  .map((f) => {
    const t =
      typeof f.type === 'object'
        ? 'MAP(VARCHAR, VARCHAR)'
        : f.type === 'timestamptz'
          ? 'BIGINT'
          : f.type === 'int'
            ? 'INTEGER'
            : 'VARCHAR'
    return `${f.name}: '${t}'`
  })
  .join(', ')

async function runDuck(ndjson: string, out: string): Promise<Result> {
  const { DuckDBInstance } = await import('@duckdb/node-api')
  const db = await DuckDBInstance.create(':memory:')
  const c = await db.connect()
  await c.run('SET threads=1')
  const select = def.schema.fields
    .map((f) => (f.type === 'timestamptz' ? `make_timestamp(${f.name})::TIMESTAMPTZ AS ${f.name}` : f.name))
    .join(', ')
  const fieldIds = def.schema.fields
    .map((f) =>
      typeof f.type === 'object'
        ? `${f.name}: {__duckdb_field_id: ${f.id}, key: ${f.type['key-id']}, value: ${f.type['value-id']}}`
        : `${f.name}: ${f.id}`,
    )
    .join(', ')
  const c0 = cpuMs()
  const t0 = performance.now()
  await c.run(
    `COPY (SELECT ${select} FROM read_json('${ndjson}', format='newline_delimited', columns={${DUCK_COLUMNS}}))
     TO '${out}' (FORMAT parquet, COMPRESSION zstd, FIELD_IDS {${fieldIds}})`,
  )
  const ms = performance.now() - t0
  const cpu = cpuMs() - c0
  c.closeSync()
  return { ms, cpuMs: cpu, bytes: statSync(out).size, maxRssMB: process.resourceUsage().maxRSS / 1024 }
}

async function main(): Promise<void> {
  if (mode === 'floe') return void console.log(JSON.stringify(await runFloe(process.argv[4])))
  if (mode === 'duckdb')
    return void console.log(JSON.stringify(await runDuck(process.argv[4], process.argv[5])))

  const dir = mkdtempSync(path.join(os.tmpdir(), 'floe-bench-'))
  const ndjson = path.join(dir, 'events.ndjson')
  const ws = createWriteStream(ndjson)
  for (const r of eventRows(N, { seed: 42, sites: 3 })) ws.write(JSON.stringify(r) + '\n')
  await new Promise((r) => ws.end(r))
  const self = fileURLToPath(import.meta.url)
  const child = (...args: string[]): Result =>
    JSON.parse(
      execFileSync(process.execPath, ['--import', 'tsx', self, ...args], { encoding: 'utf8' })
        .trim()
        .split('\n')
        .pop()!,
    )
  // The machine is shared (2 cores): alternate the two sides and keep each one's best run.
  const best = (a: Result, b: Result) => (b.ms < a.ms ? b : a)
  let duck = child('duckdb', String(N), ndjson, path.join(dir, 'duck.parquet'))
  let floe = child('floe', String(N), path.join(dir, 'floe.parquet'))
  for (let i = 1; i < RUNS; i++) {
    duck = best(duck, child('duckdb', String(N), ndjson, path.join(dir, 'duck.parquet')))
    floe = best(floe, child('floe', String(N), path.join(dir, 'floe.parquet')))
  }

  const mb = (b: number) => (b / 1e6).toFixed(2)
  console.log(`rows: ${N} pa_events rows (NDJSON ${mb(statSync(ndjson).size)} MB)`)
  console.log(
    `DuckDB (1 thread, read_json + COPY zstd): ${duck.ms.toFixed(0)} ms (CPU ${duck.cpuMs.toFixed(0)} ms), ${Math.round(N / (duck.ms / 1000))} rows/s, ${mb(duck.bytes)} MB, peak RSS ${duck.maxRssMB.toFixed(0)} MB`,
  )
  console.log(
    `Floe (validate + encode, zstd):           ${floe.ms.toFixed(0)} ms (CPU ${floe.cpuMs.toFixed(0)} ms), ${Math.round(N / (floe.ms / 1000))} rows/s, ${mb(floe.bytes)} MB, peak RSS ${floe.maxRssMB.toFixed(0)} MB (+ footer metrics ${floe.extra?.metricsMs.toFixed(0)} ms; same batch again in the same process ${floe.extra?.secondMs.toFixed(0)} ms)`,
  )
  const timeRatio = floe.ms / duck.ms
  const sizeRatio = floe.bytes / duck.bytes
  console.log(
    `ratios Floe/DuckDB: time ${timeRatio.toFixed(2)}x (target <= 3x ${timeRatio <= 3 ? 'OK' : 'MISSED'}), CPU time ${(floe.cpuMs / duck.cpuMs).toFixed(2)}x, rows/s ${(duck.ms / floe.ms).toFixed(2)}x, file size ${sizeRatio.toFixed(2)}x (target <= 1.2x ${sizeRatio <= 1.2 ? 'OK' : 'MISSED'}), peak RSS ${(floe.maxRssMB / duck.maxRssMB).toFixed(2)}x`,
  )
}

await main()

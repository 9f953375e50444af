/**
 * Sustained end-to-end throughput: events/s from HTTP (`/api/batch`) to a committed Iceberg
 * snapshot, peak RSS of the Floe process, and the cost of the write-ahead log, all in one run.
 *
 * Runs (each a fresh Floe child process, `node --import tsx src/main.ts`, real Postgres JDBC
 * catalog, local-folder warehouse in a temp dir; autocannon in this process):
 * - reference: a bare Fastify process that parses the same /api/batch bodies and answers 200
 *   (the HTTP + JSON ceiling on this machine);
 * - defaults: ICEBERG_FLUSH_BATCH_SIZE=1000, 30 s interval, WAL with fsync=always;
 * - large batch: ICEBERG_FLUSH_BATCH_SIZE=20000, WAL fsync=always;
 * - large batch, no WAL: the same with FLOE_WAL_ENABLED=false (WAL overhead = 1 - with/without);
 *   with/without runs alternate BENCH_PAIRS times (default 3) and medians are compared, since the
 *   machine's load drifts between runs.
 *
 * "Sustained" = events committed / (load time + time of the final flush that commits the rest), so
 * a backlog left behind does not count as throughput. Every run checks that the committed row count
 * equals the events acknowledged.
 *
 * CPU per event: the Floe process's CPU time (all threads, from /proc) and its main thread's alone,
 * from just before the load to the end of the final flush, divided by the events committed (after a
 * warm-up batch, committed and not counted, that starts the encoder worker). Unlike
 * events/s it hardly depends on how much of a shared machine the run got.
 *
 * Run: npx tsx bench/e2e-throughput.ts     (BENCH_SECONDS=15, BENCH_BATCH=100 events per request,
 *      BENCH_PAIRS=3, BENCH_CONNECTIONS=8; BENCH_PAIRS=0 runs only the reference and the defaults;
 *      BENCH_PROFILE=<dir> writes each Floe process's V8 CPU profile there (`node --cpu-prof`, start-up
 *      included) for bench/profile-summary.ts)
 */
import { spawn } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { createTestDatabase } from '../test/support/pg.ts'
import { freePort } from '../test/support/s3.ts'
import { adminFlush, createSite, spawnFloe } from '../test/e2e/support.ts'
import {
  benchEnv,
  committedRecords,
  cpuSeconds,
  median,
  memoryMb,
  runLoad,
  type LoadResult,
} from './support/process.ts'
import { USER_AGENTS, batchBody } from './support/traffic.ts'

const SECONDS = Number(process.env.BENCH_SECONDS ?? 15)
const BATCH = Number(process.env.BENCH_BATCH ?? 100)
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 8)

function requests(siteId: string) {
  return Array.from({ length: 50 }, (_, r) => ({
    method: 'POST',
    path: '/api/batch',
    headers: {
      'content-type': 'application/json',
      'user-agent': USER_AGENTS[r % USER_AGENTS.length],
      'x-forwarded-for': `198.51.100.${r + 1}`,
    },
    body: batchBody(siteId, r, BATCH),
  }))
}

function load(base: string, siteId: string): Promise<LoadResult> {
  return runLoad({ url: base, connections: CONNECTIONS, duration: SECONDS, requests: requests(siteId) })
}

interface Row {
  run: string
  eventsPerSec: number
  acceptedPerSec: number
  peakRssMb: number
  rejected503: number
  committed: number
  acked: number
  flushSeconds: number
  /** CPU µs per committed event, whole process and main thread (NaN for the reference). */
  cpuUsPerEvent: number
  mainUsPerEvent: number
}

async function floeRun(name: string, extraEnv: Record<string, string>): Promise<Row> {
  const db = await createTestDatabase('floe_bench')
  const dataDir = mkdtempSync(path.join(tmpdir(), 'floe-bench-'))
  try {
    const siteId = await createSite(db.url)
    const env = {
      ...benchEnv(await freePort(), dataDir),
      DATABASE_URL: db.url,
      APP_SECRET: 'bench',
      ...extraEnv,
    }
    const profile = process.env.BENCH_PROFILE
    const floe = await spawnFloe(env, {
      nodeArgs: profile ? ['--cpu-prof', `--cpu-prof-dir=${profile}`] : [],
    })
    // Warm-up, outside every figure: one batch committed, so the encoder worker has started and
    // the hot code is compiled; the CPU per event is then the steady state's.
    const [warm] = requests(siteId)
    const warmed = await fetch(`${floe.base}${warm.path}`, {
      method: 'POST',
      headers: warm.headers,
      body: warm.body,
    })
    if (!warmed.ok || (await adminFlush(floe.base)).status !== 200) throw new Error('warm-up failed')
    const pid = floe.child.pid!
    const cpu0 = { process: cpuSeconds(pid), main: cpuSeconds(pid, pid) }
    const t0 = performance.now()
    const res = await load(floe.base, siteId)
    const tLoad = performance.now()
    const flushed = await adminFlush(floe.base)
    const tEnd = performance.now()
    if (flushed.status !== 200) throw new Error(`flush failed: ${JSON.stringify(flushed.body)}`)
    const rss = memoryMb(floe.child.pid!).hwmMb
    const cpu1 = { process: cpuSeconds(pid), main: cpuSeconds(pid, pid) }
    floe.child.kill('SIGTERM')
    await floe.exited
    const committed = (await committedRecords(db.url)) - BATCH // less the warm-up batch
    const acked = res['2xx'] * BATCH
    // autocannon does not count requests still in flight when the time is up; the server may have
    // accepted them, so committed can exceed the 2xx count by up to CONNECTIONS batches, never fall short.
    if (committed < acked)
      console.warn(`  ${name}: LOST ROWS: committed ${committed} < acknowledged ${acked}`)
    return {
      run: name,
      eventsPerSec: committed / ((tEnd - t0) / 1000),
      acceptedPerSec: acked / ((tLoad - t0) / 1000),
      peakRssMb: rss,
      rejected503: res.non2xx,
      committed,
      acked,
      flushSeconds: (tEnd - tLoad) / 1000,
      cpuUsPerEvent: ((cpu1.process - cpu0.process) * 1e6) / committed,
      mainUsPerEvent: ((cpu1.main - cpu0.main) * 1e6) / committed,
    }
  } finally {
    await db.drop()
    rmSync(dataDir, { recursive: true, force: true })
  }
}

/** The same bodies against a Fastify route that only parses JSON (child process). */
async function referenceRun(): Promise<Row> {
  const port = await freePort()
  const script = `
    import Fastify from 'fastify'
    const app = Fastify({ bodyLimit: 4 * 1024 * 1024 })
    app.post('/api/batch', async (req) => ({ size: req.body.length, processed: req.body.length, errors: 0 }))
    await app.listen({ port: ${port}, host: '127.0.0.1' })
    process.stdout.write('ready\\n')`
  const child = spawn(process.execPath, ['--input-type=module', '-e', script], {
    stdio: ['ignore', 'pipe', 'inherit'],
  })
  await new Promise<void>((resolve) => child.stdout!.on('data', () => resolve()))
  try {
    const t0 = performance.now()
    const res = await load(`http://127.0.0.1:${port}`, '6c1e4f0a-3b7d-4c2e-9a51-0d8f7b2c4e19')
    const secs = (performance.now() - t0) / 1000
    const acked = res['2xx'] * BATCH
    return {
      run: 'reference: bare Fastify JSON parse',
      eventsPerSec: acked / secs,
      acceptedPerSec: acked / secs,
      peakRssMb: memoryMb(child.pid!).hwmMb,
      rejected503: res.non2xx,
      committed: 0,
      acked,
      flushSeconds: 0,
      cpuUsPerEvent: NaN,
      mainUsPerEvent: NaN,
    }
  } finally {
    child.kill('SIGKILL')
  }
}

const PAIRS = Number(process.env.BENCH_PAIRS ?? 3)

const rows: Row[] = []
console.log(
  `e2e throughput: ${SECONDS}s per run, /api/batch with ${BATCH} events, ${CONNECTIONS} connections`,
)
rows.push(await referenceRun())
rows.push(await floeRun('defaults (batch 1000, WAL fsync=always)', {}))
// WAL cost: with/without runs alternate, so drift in machine load hits both alike; medians compared.
const large = { ICEBERG_FLUSH_BATCH_SIZE: '20000' }
const withWal: Row[] = []
const withoutWal: Row[] = []
for (let i = 0; i < PAIRS; i++) {
  withWal.push(await floeRun(`large batch 20000, WAL fsync=always #${i + 1}`, large))
  withoutWal.push(
    await floeRun(`large batch 20000, no WAL #${i + 1}`, { ...large, FLOE_WAL_ENABLED: 'false' }),
  )
}
rows.push(...withWal, ...withoutWal)

const ref = rows[0].eventsPerSec
console.log('')
console.log(
  'run                                       | committed ev/s | x ref | accepted ev/s | 503s | final flush s | peak RSS MB | CPU µs/ev | main µs/ev',
)
for (const r of rows)
  console.log(
    `${r.run.padEnd(41)} | ${r.eventsPerSec.toFixed(0).padStart(14)} | ${(r.eventsPerSec / ref).toFixed(3).padStart(5)} | ${r.acceptedPerSec.toFixed(0).padStart(13)} | ${String(r.rejected503).padStart(4)} | ${r.flushSeconds.toFixed(2).padStart(13)} | ${r.peakRssMb.toFixed(0).padStart(11)} | ${r.cpuUsPerEvent.toFixed(1).padStart(9)} | ${r.mainUsPerEvent.toFixed(1).padStart(10)}`,
  )
const wal = median(withWal.map((r) => r.eventsPerSec))
const noWal = median(withoutWal.map((r) => r.eventsPerSec))
const walAccepted = median(withWal.map((r) => r.acceptedPerSec))
const noWalAccepted = median(withoutWal.map((r) => r.acceptedPerSec))
// The target applies to Floe as shipped (WAL on). Without the WAL the receiver can outrun the
// flusher, so its backlog fills up to FLOE_BACKLOG_MAX_ROWS (see the 503s) and its RSS shows what a
// full backlog costs, the same as during a storage outage: printed, but not the steady-state figure.
const peakRss = Math.max(...[rows[1], ...withWal].map((r) => r.peakRssMb))
const fullBacklogRss = withoutWal.length ? Math.max(...withoutWal.map((r) => r.peakRssMb)) : NaN
console.log('')
console.log(
  `large batch, median of ${PAIRS}: with WAL ${wal.toFixed(0)} ev/s, without ${noWal.toFixed(0)} ev/s committed; ` +
    `accepted ${walAccepted.toFixed(0)} vs ${noWalAccepted.toFixed(0)} ev/s`,
)
console.log(
  `WAL overhead: ${((1 - wal / noWal) * 100).toFixed(1)}% of committed throughput, ` +
    `${((1 - walAccepted / noWalAccepted) * 100).toFixed(1)}% of the accept rate (target < 20%)`,
)
console.log(
  `targets: >= 10000 ev/s with batches → ${wal >= 10_000 ? 'met' : 'NOT met'} (${wal.toFixed(0)}); ` +
    `peak RSS < 300 MB with the WAL → ${peakRss < 300 ? 'met' : 'NOT met'} (${peakRss.toFixed(0)} MB); ` +
    `with a backlog at its limit (no-WAL runs) ${fullBacklogRss.toFixed(0)} MB`,
)

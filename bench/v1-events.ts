/**
 * `POST /v1/events` throughput with 100-event batches: idempotency on (the Postgres claim ledger,
 * FLOE_IDEMPOTENCY_WINDOW_SECONDS=86400, the default) vs off (=0), and on with signed requests (the
 * site has a signing secret; each request carries X-Floe-Timestamp + X-Floe-Signature, checked and
 * remembered against replay), in the same run. Requests carry a write key (X-Write-Key).
 *
 * Each run is a fresh Floe child process (`node --import tsx src/main.ts`, real Postgres JDBC
 * catalog and ledger, local-folder warehouse, WAL with fsync=always); autocannon in this process
 * sends batches whose event ids are all new (a counter per request), so every event is claimed and
 * written. The on/off runs alternate BENCH_PAIRS times and medians are compared, since the shared
 * machine's load drifts. Every run checks that the committed row count covers the events acknowledged.
 *
 * Run: nice -n 10 npx tsx bench/v1-events.ts   (BENCH_SECONDS=10, BENCH_BATCH=100, BENCH_PAIRS=2,
 *      BENCH_CONNECTIONS=8)
 */
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { createTestDatabase } from '../test/support/pg.ts'
import { freePort } from '../test/support/s3.ts'
import { adminFlush, createSite, spawnFloe } from '../test/e2e/support.ts'
import { benchEnv, committedRecords, median, runLoad, type LoadResult } from './support/process.ts'
import { PgSql } from '../src/storage/index.ts'
import { KeyStore } from '../src/sites/keys.ts'
import { SecretStore } from '../src/sites/secrets.ts'
import { requestSignature } from '../src/receive/write-auth.ts'

const SECONDS = Number(process.env.BENCH_SECONDS ?? 10)
const BATCH = Number(process.env.BENCH_BATCH ?? 100)
const PAIRS = Number(process.env.BENCH_PAIRS ?? 2)
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 8)
const UA =
  'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Safari/537.36'

/** One envelope as text, `@@` standing for the request's unique prefix of every event id. */
function template(siteId: string): string {
  const now = new Date().toISOString()
  return JSON.stringify({
    schema_version: 1,
    property_id: siteId,
    sent_at: now,
    events: Array.from({ length: BATCH }, (_, i) => ({
      event_id: `@@-${i}`,
      type: i % 10 === 0 ? 'signup' : 'pageview',
      ts: now,
      context: {
        page: { url: `https://example.com/docs/page-${i}?utm_source=bench`, title: `Page ${i}` },
        campaign: { campaign_id: 'bench' },
      },
      identity: { visitor_id: `visitor-${i % 20}` },
      ...(i % 10 === 0 ? { data: { plan: 'pro', step: i } } : {}),
    })),
  })
}

/** `secret`: sign every request (X-Floe-Timestamp + X-Floe-Signature over its own body). */
function load(base: string, body: string, writeKey: string, secret?: string): Promise<LoadResult> {
  let n = 0
  const run = `${process.pid}-${Date.now()}`
  const setupRequest = (req: { headers: Record<string, string> }) => {
    const text = body.replaceAll('@@', `${run}-${n++}`)
    if (!secret) return { ...req, body: text }
    const ts = String(Math.floor(Date.now() / 1000))
    return {
      ...req,
      body: text,
      headers: {
        ...req.headers,
        'x-floe-timestamp': ts,
        'x-floe-signature': requestSignature(secret, ts, text),
      },
    }
  }
  return runLoad({
    url: base,
    connections: CONNECTIONS,
    duration: SECONDS,
    requests: [
      {
        method: 'POST',
        path: '/v1/events',
        headers: { 'content-type': 'application/json', 'user-agent': UA, 'x-write-key': writeKey },
        setupRequest,
      },
    ],
  })
}

async function run(name: string, extraEnv: Record<string, string>, signed: boolean): Promise<number> {
  const db = await createTestDatabase('v1_events_bench')
  const dataDir = mkdtempSync(path.join(tmpdir(), 'floe-v1-bench-'))
  try {
    const siteId = await createSite(db.url)
    const sql = new PgSql(db.url)
    const writeKey = (await (await KeyStore.open(sql)).create(siteId, 'write')).token
    const secret = signed ? (await (await SecretStore.open(sql)).rotate(siteId)).secret : undefined
    await sql.close()
    const floe = await spawnFloe({
      ...benchEnv(await freePort(), dataDir),
      DATABASE_URL: db.url,
      APP_SECRET: 'bench',
      ...extraEnv,
    })
    const t0 = performance.now()
    const res = await load(floe.base, template(siteId), writeKey, secret)
    const secs = (performance.now() - t0) / 1000
    const flushed = await adminFlush(floe.base)
    if (flushed.status !== 200) throw new Error(`flush failed: ${JSON.stringify(flushed.body)}`)
    floe.child.kill('SIGTERM')
    await floe.exited
    const acked = res['2xx'] * BATCH
    const committed = await committedRecords(db.url)
    if (committed < acked)
      console.warn(`  ${name}: LOST ROWS: committed ${committed} < acknowledged ${acked}`)
    const rate = acked / secs
    console.log(
      `  ${name}: ${Math.round(rate)} events/s accepted (${res['2xx']} × ${BATCH}, ${res.non2xx} non-2xx), committed ${committed}`,
    )
    return rate
  } finally {
    await db.drop()
    rmSync(dataDir, { recursive: true, force: true })
  }
}

const variants: Array<[string, Record<string, string>, boolean]> = [
  ['idempotency off', { FLOE_IDEMPOTENCY_WINDOW_SECONDS: '0' }, false],
  ['idempotency on', {}, false],
  ['idempotency on + signed', {}, true],
]
const rates = new Map<string, number[]>(variants.map(([n]) => [n, []]))
console.log(
  `/v1/events, ${BATCH}-event batches, ${CONNECTIONS} connections, ${SECONDS} s per run, ${PAIRS} pairs`,
)
for (let p = 0; p < PAIRS; p++)
  for (const [name, env, signed] of p % 2 === 0 ? variants : [...variants].reverse())
    rates.get(name)!.push(await run(name, env, signed))
const off = median(rates.get('idempotency off')!)
console.log('\nmedian accepted events/s:')
for (const [name] of variants) {
  const m = median(rates.get(name)!)
  console.log(`  ${name.padEnd(24)} ${Math.round(m)}  (${(m / off).toFixed(3)}x of idempotency off)`)
}
console.log(
  `idempotency cost: ${((1 - median(rates.get('idempotency on')!) / off) * 100).toFixed(1)} % (target < 20 %)`,
)

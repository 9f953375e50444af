/**
 * Catalog outage under load (issue 9 item 1): Floe as a real process, its Postgres (JDBC catalog
 * and sites table) reached through a TCP proxy that is cut for SOAK_OUTAGE_SECONDS (default 80,
 * longer than the 60 s site cache TTL) while /api/send runs continuously (one marker per event).
 * During the outage a trickle of sends for a site Floe has never seen measures the 503 path.
 * Then the proxy is restored, everything is flushed, and pa_events is read back with icebird:
 * every 2xx event must be there exactly once.
 *
 * Run: npx tsx bench/catalog-outage-soak.ts   (SOAK_OUTAGE_SECONDS=80, SOAK_CONCURRENCY=4)
 * Expected: no 5xx for the known site, 503 + Retry-After for the unknown one, 0 lost, 0 duplicated.
 */
import { randomUUID } from 'node:crypto'
import { rmSync } from 'node:fs'
import {
  adminFlush,
  checkLanded,
  createSite,
  eventBody,
  floeEnv,
  freePort,
  LoadGenerator,
  send,
  spawnFloe,
  startServices,
} from '../test/e2e/support.ts'
import { startTcpProxy } from '../test/support/tcp-proxy.ts'

const OUTAGE_S = Number(process.env.SOAK_OUTAGE_SECONDS ?? 80)
const CONCURRENCY = Number(process.env.SOAK_CONCURRENCY ?? 4)
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

const services = await startServices('floe_outage_soak')
const { db, s3 } = services
const target = new URL(db.url)
const proxy = await startTcpProxy(target.hostname, Number(target.port || 5432))
const proxied = new URL(db.url)
proxied.host = `127.0.0.1:${proxy.port}`
const env = {
  ...floeEnv({ databaseUrl: proxied.toString(), s3, port: await freePort() }),
  ICEBERG_FLUSH_INTERVAL_SECONDS: '2',
  ICEBERG_FLUSH_BATCH_SIZE: '1000',
}
const started = Date.now()
let ok = false
try {
  const siteId = await createSite(db.url)
  const floe = await spawnFloe(env, { startTimeoutMs: 60_000 })
  const load = new LoadGenerator(() => floe.base, siteId, 'outage', CONCURRENCY)
  await sleep(5000)
  const beforeOutage = load.acked.length

  await proxy.cut()
  process.stdout.write(`catalog database cut at ${beforeOutage} acknowledged\n`)
  const unknown = new Map<number | string, number>()
  const unknownRetryAfter = new Set<string>()
  const outageEnds = Date.now() + OUTAGE_S * 1000
  let nextReport = Date.now() + 10_000
  while (Date.now() < outageEnds) {
    const res = await fetch(`${floe.base}/api/send`, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        'user-agent': 'Mozilla/5.0 (X11; Linux x86_64) Chrome/126.0',
      },
      body: eventBody(randomUUID(), 'unknown'),
    }).catch(() => undefined)
    const status = res?.status ?? 'error'
    unknown.set(status, (unknown.get(status) ?? 0) + 1)
    if (res?.headers.get('retry-after')) unknownRetryAfter.add(res.headers.get('retry-after')!)
    await res?.arrayBuffer()
    if (Date.now() > nextReport) {
      nextReport += 10_000
      process.stdout.write(
        `  outage ${Math.round((Date.now() - outageEnds) / 1000 + OUTAGE_S)} s: ${load.acked.length} acknowledged, answers ${JSON.stringify(Object.fromEntries(load.statuses))}\n`,
      )
    }
    await sleep(250)
  }
  const duringOutage = load.acked.length - beforeOutage
  await proxy.restore()
  process.stdout.write('catalog database restored\n')
  await sleep(5000)
  await load.stop()
  // After the outage, a new site resolves again.
  const afterSite = await createSite(db.url)
  const afterStatus = await send(floe.base, eventBody(afterSite, 'after-new-site'))

  let flushed = await adminFlush(floe.base)
  for (let i = 0; i < 20 && flushed.status !== 200; i++) {
    await sleep(1000)
    flushed = await adminFlush(floe.base)
  }
  if (flushed.status !== 200) throw new Error(`flush failed: ${JSON.stringify(flushed.body)}`)
  // The read-back goes to the s3rver process, which drops a connection now and then under load.
  let check: Awaited<ReturnType<typeof checkLanded>> | undefined
  for (let attempt = 1; check === undefined; attempt++) {
    try {
      check = await checkLanded(db.url, load.acked)
    } catch (err) {
      if (attempt >= 5) throw err
      await sleep(1000)
    }
  }
  const { landed, lost, duplicated } = check
  floe.child.kill('SIGTERM')
  const code = await floe.exited

  const statuses = Object.fromEntries(load.statuses)
  const fiveXX = [...load.statuses].filter(([s]) => typeof s === 'number' && s >= 500)
  console.log('')
  console.log(
    `outage: ${OUTAGE_S} s of ${((Date.now() - started) / 1000).toFixed(0)} s, concurrency ${CONCURRENCY}`,
  )
  console.log(`known site, answers by status: ${JSON.stringify(statuses)}`)
  console.log(`  acknowledged: ${load.acked.length} (${duringOutage} while the database was away)`)
  console.log(
    `unknown sites during the outage, answers by status: ${JSON.stringify(Object.fromEntries(unknown))}, Retry-After: ${[...unknownRetryAfter].join(',') || '-'}`,
  )
  console.log(`a site created after the outage: ${afterStatus}`)
  console.log(`rows in pa_events: ${landed.length}`)
  console.log(
    `lost acknowledged events: ${lost.length}${lost.length ? ' e.g. ' + lost.slice(0, 5).join(', ') : ''}`,
  )
  console.log(
    `duplicated events: ${duplicated.length}${duplicated.length ? ' e.g. ' + duplicated.slice(0, 5).join(', ') : ''}`,
  )
  console.log(`final SIGTERM exit code: ${code}`)
  const unknownOk = [...unknown.keys()].every((s) => s === 503)
  ok = fiveXX.length === 0 && unknownOk && lost.length === 0 && duplicated.length === 0 && afterStatus === 200
  console.log(ok ? 'PASS' : 'FAIL')
} finally {
  await proxy.close()
  await services.close()
  rmSync(env.FLOE_DATA_DIR, { recursive: true, force: true })
}
process.exit(ok ? 0 : 1)

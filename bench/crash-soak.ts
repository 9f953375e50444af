/**
 * Longer crash test than test/e2e/crash-recovery.test.ts: many SIGKILL rounds at random points
 * under continuous load (/api/send, one marker per event), optionally with S3 (s3rver) restarts in
 * between, then restart + flush and check: every 2xx event is in pa_events exactly once, and no
 * event landed twice.
 *
 * Run: npx tsx bench/crash-soak.ts     (SOAK_ROUNDS=20, SOAK_CONCURRENCY=8, FLOE_WAL_FSYNC=always)
 * Env: SOAK_S3_OUTAGES=1 also stops the S3 server for a moment in every 5th round.
 */
import { rmSync } from 'node:fs'
import {
  adminFlush,
  checkLanded,
  createSite,
  floeEnv,
  freePort,
  LoadGenerator,
  spawnFloe,
  startServices,
} from '../test/e2e/support.ts'

const ROUNDS = Number(process.env.SOAK_ROUNDS ?? 20)
const CONCURRENCY = Number(process.env.SOAK_CONCURRENCY ?? 8)
const OUTAGES = process.env.SOAK_S3_OUTAGES === '1'

const services = await startServices('floe_soak')
const { db, s3 } = services
const env = {
  ...floeEnv({ databaseUrl: db.url, s3, port: await freePort() }),
  ICEBERG_FLUSH_BATCH_SIZE: '200',
  ICEBERG_FLUSH_INTERVAL_SECONDS: '1',
  FLOE_WAL_FSYNC: process.env.FLOE_WAL_FSYNC ?? 'always',
  FLOE_BACKLOG_MAX_ROWS: '5000',
}
const started = Date.now()
let ok = false
try {
  const siteId = await createSite(db.url)
  const base = `http://127.0.0.1:${env.PORT}`
  const load = new LoadGenerator(() => base, siteId, 'soak', CONCURRENCY)
  for (let round = 0; round < ROUNDS; round++) {
    const floe = await spawnFloe(env, { startTimeoutMs: 60_000 })
    const before = load.acked.length
    if (OUTAGES && round % 5 === 4) {
      await s3.stop()
      await new Promise((r) => setTimeout(r, 500 + Math.random() * 1500))
      await s3.start()
    }
    const until = Date.now() + 200 + Math.random() * 2500
    while (Date.now() < until || load.acked.length < before + 10) await new Promise((r) => setTimeout(r, 10))
    floe.child.kill('SIGKILL')
    await floe.exited
    process.stdout.write(`round ${round + 1}/${ROUNDS}: ${load.acked.length} acknowledged so far\n`)
  }
  await load.stop()

  const floe = await spawnFloe(env, { startTimeoutMs: 60_000 })
  const flushed = await adminFlush(floe.base)
  if (flushed.status !== 200) throw new Error(`flush failed: ${JSON.stringify(flushed.body)}`)
  const { landed, lost, duplicated: dup } = await checkLanded(db.url, load.acked)
  floe.child.kill('SIGTERM')
  const code = await floe.exited
  const statuses = Object.fromEntries(load.statuses)
  console.log('')
  console.log(
    `rounds: ${ROUNDS}, seconds: ${((Date.now() - started) / 1000).toFixed(0)}, fsync: ${env.FLOE_WAL_FSYNC}`,
  )
  console.log(`answers: ${JSON.stringify(statuses)}`)
  console.log(`acknowledged: ${load.acked.length}, rows in pa_events: ${landed.length}`)
  console.log(`  (rows beyond the acknowledged ones were durable in the WAL when the kill cut the answer)`)
  console.log(
    `lost acknowledged events: ${lost.length}${lost.length ? ' e.g. ' + lost.slice(0, 5).join(', ') : ''}`,
  )
  console.log(`duplicated events: ${dup.length}${dup.length ? ' e.g. ' + dup.slice(0, 5).join(', ') : ''}`)
  console.log(`final SIGTERM exit code: ${code}`)
  ok = lost.length === 0 && dup.length === 0 && code === 0
  console.log(ok ? 'PASS' : 'FAIL')
} finally {
  await services.close()
  rmSync(env.FLOE_DATA_DIR, { recursive: true, force: true })
}
process.exit(ok ? 0 : 1)

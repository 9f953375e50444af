/**
 * Scale-out (docs/deploy.md): the same load against
 *   A. one `FLOE_ROLE=all` process (local WAL), the reference, and
 *   B. 2 receivers + 2 writers over NATS JetStream (127.0.0.1:4222),
 * side by side: events/s acknowledged, events/s to committed snapshots (acked events / time until
 * the last one is in pa_events), commits per minute per table, and CPU seconds of all Floe
 * processes (from /proc, user + system) per 1000 events. Then commit conflicts per hour
 * (`floe_commit_conflicts_total` of the writers, scaled) with 1, 2 and 4 writers, each committing
 * its own flushes (FLOE_LOG_COMMIT_COORDINATOR=false) and then with the commit coordinator (one
 * writer per table commits every writer's staged files, at most once per second).
 *
 * Every phase sends for SCALE_SECONDS (default 15) from SCALE_CONCURRENCY (default 16) loops over
 * 8 sites (so all partitions are used), flushing every 1000 events or 2 s to make commits frequent.
 * Run (the machine is shared: nice, short):
 *   nice -n 10 npx tsx bench/scale-out.ts
 */
import { readFileSync, rmSync, mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { randomUUID } from 'node:crypto'
import { connect } from '@nats-io/transport-node'
import { jetstreamManager } from '@nats-io/jetstream'
import {
  createSite,
  eventBody,
  floeEnv,
  freePort,
  markersOf,
  send,
  spawnFloe,
  startServices,
  type FloeProcess,
  type Services,
} from '../test/e2e/support.ts'
import { metadataLocation, readWithIcebird } from '../test/e2e/readback.ts'
import { cpuSeconds, sleep } from './support/process.ts'

const SECONDS = Number(process.env.SCALE_SECONDS ?? 15)
const CONCURRENCY = Number(process.env.SCALE_CONCURRENCY ?? 16)
const NATS_URL = process.env.FLOE_TEST_NATS_URL ?? 'nats://127.0.0.1:4222'

async function metric(base: string, name: string): Promise<number> {
  const text = await (await fetch(`${base}/metrics`)).text()
  let sum = 0
  for (const line of text.split('\n')) if (line.startsWith(name)) sum += Number(line.split(' ').pop())
  return sum
}

interface PhaseResult {
  label: string
  acked: number
  ackedPerSecond: number
  committedPerSecond: number
  commitsPerMinute: Record<string, number>
  cpuPer1000: number
  conflictsPerHour: number
}

async function phase(
  services: Services,
  label: string,
  roles: { receivers: number; writers: number; all?: boolean; coordinator?: boolean },
): Promise<PhaseResult> {
  const stream = `floe-bench-${randomUUID().slice(0, 8)}`
  const db = await services.db
  const base = {
    ...floeEnv({ databaseUrl: db.url, s3: services.s3, port: 0 }),
    FLOE_NATS_URL: NATS_URL,
    FLOE_NATS_STREAM: stream,
    FLOE_NATS_SUBJECT_PREFIX: `floebench.${stream.slice(-8)}`,
    FLOE_LOG_PARTITIONS: '8',
    ICEBERG_FLUSH_BATCH_SIZE: '1000',
    ICEBERG_FLUSH_INTERVAL_SECONDS: '2',
    FLOE_MAINTENANCE_INTERVAL_SECONDS: '0',
    FLOE_WAL_FSYNC: 'always',
    FLOE_LOG_COMMIT_COORDINATOR: roles.coordinator ? 'true' : 'false',
    FLOE_LOG_COMMIT_INTERVAL_MS: '1000',
  }
  const procs: { p: FloeProcess; role: string; dir: string }[] = []
  const start = async (role: string) => {
    const dir = mkdtempSync(path.join(tmpdir(), `floe-bench-${role}-`))
    const env = {
      ...base,
      PORT: String(await freePort()),
      FLOE_DATA_DIR: dir,
      ...(role === 'all'
        ? { FLOE_ROLE: 'all', FLOE_LOG: 'wal', FLOE_LOG_COMMIT_COORDINATOR: 'false' }
        : { FLOE_ROLE: role, FLOE_LOG: 'nats' }),
    }
    procs.push({ p: await spawnFloe(env, { startTimeoutMs: 240_000 }), role, dir })
  }
  try {
    const starts: Promise<void>[] = []
    if (roles.all) starts.push(start('all'))
    for (let i = 0; i < roles.receivers; i++) starts.push(start('receiver'))
    for (let i = 0; i < roles.writers; i++) starts.push(start('writer'))
    await Promise.all(starts)
    const receivers = procs.filter((x) => x.role === 'receiver' || x.role === 'all').map((x) => x.p)
    const writers = procs.filter((x) => x.role === 'writer' || x.role === 'all').map((x) => x.p)
    const sites = await Promise.all(Array.from({ length: 8 }, () => createSite(db.url)))
    const before = await Promise.all(['pa_events', 'pa_sessions'].map(async (t) => snapshotCount(db.url, t)))
    const cpu0 = procs.reduce((s, x) => s + cpuSeconds(x.p.child.pid!), 0)
    const acked: string[] = []
    let running = true
    const t0 = Date.now()
    const loops = Array.from({ length: CONCURRENCY }, async (_, i) => {
      for (let n = 0; running; n++) {
        const marker = `${label}-${i}-${n}`
        const r = receivers[i % receivers.length]
        try {
          const status = await send(r.base, eventBody(sites[i % sites.length], marker), `198.51.100.${i}`)
          if (status === 200) acked.push(marker)
          else await sleep(100)
        } catch {
          await sleep(100)
        }
      }
    })
    await sleep(SECONDS * 1000)
    running = false
    await Promise.all(loops)
    const sendSeconds = (Date.now() - t0) / 1000
    // Until the last acked event is committed (the writers' own triggers, no admin flush).
    const want = new Set(acked)
    for (;;) {
      const landed = markersOf(await readWithIcebird(await metadataLocation(db.url, 'pa_events')))
      if (landed.filter((m) => want.has(m)).length >= want.size) break
      await sleep(500)
    }
    const committedSeconds = (Date.now() - t0) / 1000
    const cpu = procs.reduce((s, x) => s + cpuSeconds(x.p.child.pid!), 0) - cpu0
    const after = await Promise.all(['pa_events', 'pa_sessions'].map((t) => snapshotCount(db.url, t)))
    const conflicts = (
      await Promise.all(writers.map((w) => metric(w.base, 'floe_commit_conflicts_total{')))
    ).reduce((a, b) => a + b, 0)
    return {
      label,
      acked: acked.length,
      ackedPerSecond: acked.length / sendSeconds,
      committedPerSecond: acked.length / committedSeconds,
      commitsPerMinute: {
        pa_events: ((after[0] - before[0]) * 60) / committedSeconds,
        pa_sessions: ((after[1] - before[1]) * 60) / committedSeconds,
      },
      cpuPer1000: (cpu * 1000) / Math.max(1, acked.length),
      conflictsPerHour: (conflicts * 3600) / committedSeconds,
    }
  } finally {
    for (const x of procs) {
      x.p.child.kill('SIGKILL')
      await x.p.exited
      rmSync(x.dir, { recursive: true, force: true })
    }
    const nc = await connect({ servers: NATS_URL })
    await (await jetstreamManager(nc)).streams.delete(stream).catch(() => false)
    await nc.close()
  }
}

async function snapshotCount(databaseUrl: string, table: string): Promise<number> {
  try {
    const location = await metadataLocation(databaseUrl, table)
    const res = await fetch(location.replace(/^s3:\/\/([^/]+)/, `${s3Endpoint}/$1`))
    const m = (await res.json()) as { snapshots?: unknown[] }
    return m.snapshots?.length ?? 0
  } catch {
    return 0 // no table yet
  }
}

let s3Endpoint = ''
const results: PhaseResult[] = []
// One database and S3 per phase: each phase's tables start empty.
for (const [label, roles] of [
  ['all (WAL, reference)', { receivers: 0, writers: 0, all: true }],
  ['2 receivers + 2 writers (NATS)', { receivers: 2, writers: 2 }],
  ['1 receiver + 1 writer (NATS)', { receivers: 1, writers: 1 }],
  ['1 receiver + 4 writers (NATS)', { receivers: 1, writers: 4 }],
  ['1 receiver + 1 writer (NATS, coordinator)', { receivers: 1, writers: 1, coordinator: true }],
  ['2 receivers + 2 writers (NATS, coordinator)', { receivers: 2, writers: 2, coordinator: true }],
  ['1 receiver + 4 writers (NATS, coordinator)', { receivers: 1, writers: 4, coordinator: true }],
] as const) {
  if (process.env.SCALE_ONLY && !label.includes(process.env.SCALE_ONLY)) continue
  console.log(
    `${label}: load average ${readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ')}`,
  )
  const services = await startServices('floe_scale')
  s3Endpoint = services.s3.endpoint
  try {
    const r = await phase(services, label, roles)
    results.push(r)
    console.log(JSON.stringify(r))
  } finally {
    await services.close()
  }
}
const ref = results[0]
console.log(`load average ${readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ')}`)
console.log(`\n${SECONDS}s of load per phase, ${CONCURRENCY} loops, 8 sites, flush 1000 rows / 2 s`)
console.log(
  '| setup | acked ev/s | committed ev/s | vs ref | commits/min pa_events | pa_sessions | CPU s / 1000 ev | conflicts/h |',
)
console.log('|---|---|---|---|---|---|---|---|')
for (const r of results)
  console.log(
    `| ${r.label} | ${r.ackedPerSecond.toFixed(0)} | ${r.committedPerSecond.toFixed(0)} | ${(r.committedPerSecond / ref.committedPerSecond).toFixed(2)} | ${r.commitsPerMinute.pa_events.toFixed(1)} | ${r.commitsPerMinute.pa_sessions.toFixed(1)} | ${r.cpuPer1000.toFixed(2)} | ${r.conflictsPerHour.toFixed(0)} |`,
  )
process.exit(0)

/**
 * Coordinated commits (FLOE_LOG_COMMIT_COORDINATOR, on by default for FLOE_ROLE=writer) with three
 * writer processes over the real NATS JetStream at 127.0.0.1:4222 and Postgres, under paced load on
 * six sites: the writer that is pa_events' commit coordinator is SIGKILLed mid-run (another takes
 * the lease within its 4 s TTL), then another writer is SIGKILLed (its partitions move to the last
 * one). Afterwards every event that got a 2xx is in pa_events exactly once, compared by id as
 * icebird reads the table, and the table's Floe snapshots are the coordinators' (each joining one or
 * more writers' requests), about one per coordinator round rather than one per writer flush.
 *
 * The writers are child processes (they are SIGKILLed); the receiver runs in this process. The
 * coordinator of a table is found from each writer's `floe_coordinator_leader` gauge.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { randomUUID } from 'node:crypto'
import { connect } from '@nats-io/transport-node'
import { jetstreamManager } from '@nats-io/jetstream'
import {
  checkLanded,
  createSite,
  floeEnv,
  eventBody,
  freePort,
  send,
  spawnFloe,
  startInProcess,
  startServices,
  type FloeProcess,
  type Services,
} from './support.ts'
import { metadataLocation } from './readback.ts'
import type { FloeApp } from '../../src/app.ts'

const NATS_URL = process.env.FLOE_TEST_NATS_URL ?? 'nats://127.0.0.1:4222'
const tag = randomUUID().slice(0, 8)
const STREAM = `floe-coord-${tag}`

let services: Services
let receiver: { app: FloeApp; base: string } | undefined
let base: Record<string, string>
const processes: FloeProcess[] = []
const dirs: string[] = []
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

async function startWriter(): Promise<FloeProcess> {
  const dir = mkdtempSync(path.join(tmpdir(), 'floe-writer-'))
  dirs.push(dir)
  const p = await spawnFloe(
    { ...base, FLOE_ROLE: 'writer', PORT: String(await freePort()), FLOE_DATA_DIR: dir },
    { startTimeoutMs: 240_000 },
  )
  processes.push(p)
  return p
}

/** The value of a gauge/counter with these labels in a process's /metrics, or undefined. */
async function metric(p: FloeProcess, series: string): Promise<number | undefined> {
  try {
    const text = await (await fetch(`${p.base}/metrics`)).text()
    const line = text.split('\n').find((l) => l.startsWith(series + ' '))
    return line === undefined ? undefined : Number(line.split(' ').pop())
  } catch {
    return undefined
  }
}

async function leaderOf(writers: FloeProcess[], table: string): Promise<FloeProcess | undefined> {
  for (const w of writers)
    if (w.child.exitCode === null && (await metric(w, `floe_coordinator_leader{table="${table}"}`)) === 1)
      return w
  return undefined
}

async function until<T>(get: () => Promise<T | undefined>, what: string, ms = 90_000): Promise<T> {
  const end = Date.now() + ms
  for (;;) {
    const v = await get()
    if (v !== undefined) return v
    if (Date.now() > end) throw new Error(`timed out waiting until ${what}`)
    await sleep(200)
  }
}

/** One loop per site, the next event 20 ms after an answer; records the markers acked (2xx). */
class PacedLoad {
  readonly acked: string[] = []
  private running = true
  private readonly done: Promise<void>
  constructor(target: string, siteId: string, prefix: string) {
    this.done = (async () => {
      for (let n = 0; this.running; n++) {
        const marker = `${prefix}-${n}`
        const status = await send(target, eventBody(siteId, marker)).catch(() => 'error')
        if (typeof status === 'number' && status >= 200 && status < 300) this.acked.push(marker)
        await sleep(status === 200 ? 20 : 200)
      }
    })()
  }
  async stop(): Promise<void> {
    this.running = false
    await this.done
  }
}

beforeAll(async () => {
  services = await startServices('floe_nats_coord')
  base = {
    ...floeEnv({ databaseUrl: services.db.url, s3: services.s3, port: 0 }),
    FLOE_LOG: 'nats',
    FLOE_NATS_URL: NATS_URL,
    FLOE_NATS_STREAM: STREAM,
    FLOE_NATS_SUBJECT_PREFIX: `floecoord.${tag}`,
    FLOE_LOG_PARTITIONS: '6',
    FLOE_LOG_LEASE_SECONDS: '4',
    FLOE_LOG_COMMIT_INTERVAL_MS: '1000',
    ICEBERG_FLUSH_BATCH_SIZE: '40',
    ICEBERG_FLUSH_INTERVAL_SECONDS: '1',
    FLOE_MAINTENANCE_INTERVAL_SECONDS: '0',
  }
})

afterAll(async () => {
  await receiver?.app.close()
  for (const p of processes) if (p.child.exitCode === null) p.child.kill('SIGKILL')
  await services?.close()
  for (const d of dirs) rmSync(d, { recursive: true, force: true })
  const nc = await connect({ servers: NATS_URL })
  await (await jetstreamManager(nc)).streams.delete(STREAM).catch(() => false)
  await nc.close()
})

describe('FLOE_ROLE=writer with the commit coordinator over NATS JetStream', () => {
  it(
    'every acknowledged event lands exactly once after SIGKILLs of the coordinator and of another writer',
    { timeout: 480_000 },
    async () => {
      const sites = await Promise.all([0, 1, 2, 3, 4, 5].map(() => createSite(services.db.url)))
      const dir = mkdtempSync(path.join(tmpdir(), 'floe-receiver-'))
      dirs.push(dir)
      const [writers] = await Promise.all([
        Promise.all([startWriter(), startWriter(), startWriter()]),
        startInProcess({ ...base, FLOE_ROLE: 'receiver', PORT: '0', FLOE_DATA_DIR: dir }).then(
          (r) => (receiver = r),
        ),
      ])
      const loads = sites.map((s, i) => new PacedLoad(receiver!.base, s, `coord${i}`))
      const acked = () => loads.reduce((n, l) => n + l.acked.length, 0)
      const waitForAcks = (n: number) =>
        until(async () => (acked() >= n ? true : undefined), `${n} events acknowledged`, 120_000)
      let first: FloeProcess
      let second: FloeProcess
      try {
        // A while with all three writers alive: rounds join their flushes.
        await waitForAcks(800)
        // The coordinator of pa_events dies at a random point of its 1 s rounds.
        first = await until(() => leaderOf(writers, 'pa_events'), 'a coordinator of pa_events')
        await sleep(Math.random() * 1000)
        first.child.kill('SIGKILL')
        await first.exited
        await waitForAcks(acked() + 200)
        // Another writer takes over within the lease TTL (4 s).
        second = await until(() => leaderOf(writers, 'pa_events'), 'a new coordinator of pa_events')
        expect(second).not.toBe(first)
        // Then one of the two left dies too (the coordinator again when it is the one picked).
        const victim = writers.find((w) => w !== first && w.child.exitCode === null)!
        await sleep(Math.random() * 1000)
        victim.child.kill('SIGKILL')
        await victim.exited
        await waitForAcks(acked() + 200)
      } finally {
        await Promise.all(loads.map((l) => l.stop()))
      }
      const all = loads.flatMap((l) => l.acked)
      expect(all.length).toBeGreaterThan(1200)

      // The last writer takes every partition once the leases ran out, and commits by itself (1 s).
      let result = await checkLanded(services.db.url, all)
      for (let i = 0; i < 120 && result.lost.length > 0; i++) {
        await sleep(1000)
        result = await checkLanded(services.db.url, all)
      }
      expect(result.duplicated).toEqual([])
      expect(result.lost).toEqual([])

      // Every Floe snapshot of pa_events is a coordinator's, joining writers' requests.
      const metadata = JSON.parse(
        await (
          await fetch(
            (await metadataLocation(services.db.url, 'pa_events')).replace(
              /^s3:\/\/([^/]+)/,
              `${services.s3.endpoint}/$1`,
            ),
          )
        ).text(),
      ) as { snapshots: { summary: Record<string, string>; 'timestamp-ms': number }[] }
      const floe = metadata.snapshots.filter((s) => s.summary['floe.log-positions'])
      const joined = floe.map((s) => Number(s.summary['floe.commit-requests']))
      expect(joined.every((n) => Number.isInteger(n) && n >= 1)).toBe(true)
      const requests = joined.reduce((a, b) => a + b, 0)
      const t0 = floe[0]?.['timestamp-ms'] ?? 0
      console.log(
        'pa_events snapshots (s after the first, requests joined, records):',
        floe.map((s) => [
          (s['timestamp-ms'] - t0) / 1000,
          s.summary['floe.commit-requests'],
          s.summary['added-records'],
        ]),
      )
      console.log(
        `pa_events: ${floe.length} coordinator commits for ${requests} writer requests (${(requests / floe.length).toFixed(2)} per commit), ${all.length} events`,
      )
      // Writers flushing every second while the coordinator commits at most once a second: rounds
      // join several writers' requests (how many depends on how the flushes fall into the rounds).
      expect(floe.length).toBeLessThan(requests)
      expect(joined.some((n) => n > 1)).toBe(true)
    },
  )
})

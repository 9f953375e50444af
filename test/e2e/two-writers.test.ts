/**
 * Two Floe processes (own WAL dirs, hence own writer ids) append to the same tables at once through
 * the same JDBC catalog and S3 bucket: every acknowledged event lands once, commit conflicts are
 * retried on the new parent (never fatal), and each writer's WAL positions stay ordered in the
 * shared snapshot chain (what recovery relies on).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { rmSync } from 'node:fs'
import { snapshotSummaries } from './readback.ts'
import {
  adminFlush,
  checkLanded,
  createSite,
  floeEnv,
  freePort,
  LoadGenerator,
  spawnFloe,
  startServices,
  type FloeProcess,
  type Services,
} from './support.ts'

let services: Services
const procs: FloeProcess[] = []
const dirs: string[] = []

beforeAll(async () => {
  services = await startServices('floe_two')
})

afterAll(async () => {
  for (const p of procs) p.child.kill('SIGKILL')
  await services?.close()
  for (const d of dirs) rmSync(d, { recursive: true, force: true })
})

describe('two processes, same tables', () => {
  it('all events land once and no conflict is fatal', { timeout: 150_000 }, async () => {
    const { db, s3 } = services
    const siteId = await createSite(db.url)
    const envs = await Promise.all(
      [0, 1].map(async () => ({
        ...floeEnv({ databaseUrl: db.url, s3, port: await freePort() }),
        ICEBERG_FLUSH_BATCH_SIZE: '15',
        ICEBERG_FLUSH_INTERVAL_SECONDS: '1',
      })),
    )
    dirs.push(...envs.map((e) => e.FLOE_DATA_DIR))
    procs.push(...(await Promise.all(envs.map((e) => spawnFloe(e)))))
    const loads = procs.map((p, i) => new LoadGenerator(() => p.base, siteId, `w${i}`, 4))
    const until = Date.now() + 3000
    while (Date.now() < until || loads.some((l) => l.acked.length < 60))
      await new Promise((r) => setTimeout(r, 50))
    await Promise.all(loads.map((l) => l.stop()))
    const flushes = await Promise.all(procs.map((p) => adminFlush(p.base)))
    expect(flushes.map((f) => f.status)).toEqual([200, 200])
    expect(procs.every((p) => p.child.exitCode === null)).toBe(true)

    const { location, lost, duplicated } = await checkLanded(
      db.url,
      loads.flatMap((l) => l.acked),
    )
    expect(duplicated).toEqual([])
    expect(lost).toEqual([])

    // Both writers' snapshots are in one chain, and each writer's wal-seq only grows along it.
    const summaries = await snapshotSummaries(location)
    const byWriter = new Map<string, number[]>()
    for (const s of summaries)
      byWriter.set(s['floe.writer-id'], [
        ...(byWriter.get(s['floe.writer-id']) ?? []),
        Number(s['floe.wal-seq']),
      ])
    expect(byWriter.size).toBe(2)
    for (const seqs of byWriter.values()) expect(seqs).toEqual([...seqs].sort((a, b) => a - b))

    const conflicts = await Promise.all(
      procs.map(async (p) => {
        const text = await (await fetch(`${p.base}/metrics`)).text()
        return Number(/floe_commit_conflicts_total\{table="pa_events"\} (\d+)/.exec(text)?.[1] ?? 0)
      }),
    )
    console.log(
      `two writers: ${summaries.length} snapshots, commit conflicts retried: ${conflicts.join(' + ')}`,
    )
    for (const p of procs) p.child.kill('SIGTERM')
    expect(await Promise.all(procs.map((p) => p.exited))).toEqual([0, 0])
    procs.length = 0
  })
})

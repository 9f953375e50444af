/**
 * The commit coordinator (src/log/commit-coordinator.ts) and the writers' coordinated append
 * (src/log/coordinated-append.ts) on a real Postgres (requests, NOTIFY, the lease, the JDBC
 * catalog) and a real S3 server (s3rver); the table read back by icebird:
 * - three writers' staged files land as ONE append snapshot with the highest positions per partition;
 * - a request the table already holds is dropped as held, one it holds in part is rejected, and of
 *   two requests claiming the same positions only one lands;
 * - a coordinator that died after its commit and before recording it: the next one finds the
 *   request held, and the rows are in the table once;
 * - a writer's append through a running coordinator resolves once its request landed, and a
 *   partly held one fails with AlreadyCommittedError (the flusher then drops the held rows).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { rmSync } from 'node:fs'
import { JdbcCatalog } from '../../src/commit/jdbc.ts'
import { PgSql } from '../../src/storage/pg.ts'
import { S3FileIO } from '../../src/storage/s3.ts'
import { createTableWriter, type TableWriter } from '../../src/write/append.ts'
import { MaintenanceLeases } from '../../src/maintenance/lease.ts'
import { CommitRequests, type Claim } from '../../src/log/commit-requests.ts'
import { CommitCoordinator, positionsOf } from '../../src/log/commit-coordinator.ts'
import { coordinatedWriter } from '../../src/log/coordinated-append.ts'
import { AlreadyCommittedError } from '../../src/errors.ts'
import type { EventRow } from '../../src/rows.ts'
import { createTestDatabase } from '../support/pg.ts'
import { startTestS3, testS3FileIO, type TestS3 } from '../support/s3.ts'
import { sampleEvents } from '../support/rows.ts'
import { expectIcebirdRows } from '../support/append-e2e.ts'

let s3: TestS3
let io: S3FileIO
let db: { url: string; drop: () => Promise<void> }
let sql: PgSql
let writer: TableWriter
let requests: CommitRequests
const expected: EventRow[] = []
const coordinators: CommitCoordinator[] = []

function coordinator(id: string, leaseMs = 60_000): CommitCoordinator {
  const c = new CommitCoordinator({
    tables: ['pa_events'],
    namespace: 'analytics',
    requests,
    leases: new MaintenanceLeases(sql, id, leaseMs),
    writer,
    id,
    intervalMs: 100,
    leaseMs,
  })
  coordinators.push(c)
  return c
}

/** Takes the coordinator lease for `id` (what a tick does before a round). */
async function lead(id: string, leaseMs = 60_000): Promise<void> {
  expect(
    await new MaintenanceLeases(sql, id, leaseMs).tryAcquire('commit-coordinator/analytics.pa_events'),
  ).toBe(true)
}

let next = 0
/** `n` new events, staged as a writer would, and submitted with `claim`; answers the request id. */
async function submit(n: number, claim: Claim, writerId = 'w1'): Promise<{ id: string; rows: EventRow[] }> {
  const rows = sampleEvents(n, 3, next)
  next += n
  const staged = await writer.stage('pa_events', rows)
  const id = await requests.submit({
    table: 'pa_events',
    writer: writerId,
    files: staged.files,
    records: staged.records,
    positions: claim,
  })
  return { id, rows }
}

async function snapshots(): Promise<number> {
  return (await writer.load('pa_events')).metadata.snapshots?.length ?? 0
}

beforeAll(async () => {
  s3 = await startTestS3('floe-coord')
  io = testS3FileIO(s3)
  db = await createTestDatabase('floe_coord_unit')
  sql = new PgSql(db.url)
  const catalog = new JdbcCatalog({ sql, io, name: 'floe_coord' })
  writer = createTableWriter({ catalog, io, namespace: ['analytics'], warehouse: `s3://${s3.bucket}/wh` })
  await writer.ensureTables()
  requests = new CommitRequests(sql)
})

afterAll(async () => {
  for (const c of coordinators) await c.close()
  await io?.close()
  await s3?.stop()
  await sql?.close()
  await db?.drop()
  if (s3) rmSync(s3.dir, { recursive: true, force: true })
})

describe('commit coordinator', () => {
  it("lands three writers' requests as one append snapshot with the highest position per partition", async () => {
    const a = await submit(30, { 'nats/s/0': { first: 1, last: 10 } }, 'w1')
    const b = await submit(20, { 'nats/s/1': { first: 1, last: 4 } }, 'w2')
    const c = await submit(
      25,
      { 'nats/s/0': { first: 11, last: 12 }, 'nats/s/2': { first: 1, last: 9 } },
      'w3',
    )
    const before = await snapshots()
    await lead('c1')
    await coordinator('c1').round('pa_events')
    const loaded = await writer.load('pa_events')
    expect(loaded.metadata.snapshots!.length).toBe(before + 1)
    const summary = loaded.metadata.snapshots!.at(-1)!.summary as Record<string, string>
    expect(summary['floe.commit-requests']).toBe('3')
    expect(summary['added-records']).toBe('75')
    expect(JSON.parse(summary['floe.log-positions'])).toEqual({
      'nats/s/0': 12,
      'nats/s/1': 4,
      'nats/s/2': 9,
    })
    expect(Object.fromEntries(positionsOf(loaded.metadata))).toEqual({
      'nats/s/0': 12,
      'nats/s/1': 4,
      'nats/s/2': 9,
    })
    for (const r of [a, b, c]) {
      const d = await requests.decision(r.id)
      expect(d?.state).toBe('committed')
      expect(d?.snapshotId).toBe(loaded.metadata['current-snapshot-id'])
    }
    expected.push(...a.rows, ...b.rows, ...c.rows)
    await expectIcebirdRows('pa_events', loaded, expected, { dir: s3.dir, endpoint: s3.endpoint })
  })

  it('drops a held request, rejects a partly held one, and lands only one of two claiming the same positions', async () => {
    const heldReq = await submit(5, { 'nats/s/1': { first: 2, last: 4 } }) // the table holds 4
    const mixed = await submit(5, { 'nats/s/0': { first: 10, last: 15 } }) // holds 12: partly
    const first = await submit(7, { 'nats/s/1': { first: 5, last: 8 } })
    const second = await submit(9, { 'nats/s/1': { first: 5, last: 9 } }) // same positions as `first`
    const before = await snapshots()
    await coordinator('c1').round('pa_events')
    expect((await requests.decision(heldReq.id))?.state).toBe('held')
    expect((await requests.decision(mixed.id))?.state).toBe('rejected')
    expect((await requests.decision(first.id))?.state).toBe('committed')
    expect((await requests.decision(second.id))?.state).toBe('pending') // judged next round
    await coordinator('c1').round('pa_events')
    expect((await requests.decision(second.id))?.state).toBe('rejected') // 5..8 held now, 9 not
    const loaded = await writer.load('pa_events')
    expect(loaded.metadata.snapshots!.length).toBe(before + 1)
    expect(positionsOf(loaded.metadata).get('nats/s/1')).toBe(8)
    expected.push(...first.rows)
    await expectIcebirdRows('pa_events', loaded, expected, { dir: s3.dir, endpoint: s3.endpoint })
  })

  it('a coordinator that died between its commit and recording it: the next one finds the request held', async () => {
    const r = await submit(11, { 'nats/s/3': { first: 1, last: 6 } })
    // What the dead coordinator did: the commit, and nothing after it.
    const [pending] = await requests.pending('pa_events', 10)
    expect(pending.id).toBe(r.id)
    await writer.commitFiles('pa_events', pending.files, {
      properties: { 'floe.log-position.nats/s/3': '6' },
      summary: { 'floe.log-positions': JSON.stringify({ 'nats/s/3': 6 }) },
    })
    expected.push(...r.rows)
    const before = await snapshots()
    // c1 "died": its lease is given up for the test rather than waited out.
    await new MaintenanceLeases(sql, 'c1', 1).release('commit-coordinator/analytics.pa_events')
    await lead('c2')
    await coordinator('c2').round('pa_events')
    expect((await requests.decision(r.id))?.state).toBe('held')
    const loaded = await writer.load('pa_events')
    expect(loaded.metadata.snapshots!.length).toBe(before)
    await expectIcebirdRows('pa_events', loaded, expected, { dir: s3.dir, endpoint: s3.endpoint })
  })

  it("a writer's append resolves once the running coordinator landed it; a partly held one is refused before staging", async () => {
    await new MaintenanceLeases(sql, 'c1', 1).release('commit-coordinator/analytics.pa_events')
    await new MaintenanceLeases(sql, 'c2', 1).release('commit-coordinator/analytics.pa_events')
    const running = coordinator('c3')
    await running.start()
    const w = coordinatedWriter({ writer, requests, writerId: 'w9', pollMs: 100, waitMs: 30_000 })
    await w.start()
    const rows = sampleEvents(13, 4, 0)
    const claim = { 'nats/s/5': { first: 1, last: 13 } }
    const result = await w.append('pa_events', rows, {
      claim,
      alreadyCommitted: (m) => (positionsOf(m).get('nats/s/5') ?? 0) >= 1,
    })
    expect(result.records).toBe(13)
    const loaded = await writer.load('pa_events')
    expect(result.snapshotId).toBe(loaded.metadata['current-snapshot-id'])
    expect(positionsOf(loaded.metadata).get('nats/s/5')).toBe(13)
    expect(await requests.decision(result.snapshotId.toString())).toBeUndefined()
    expected.push(...rows)
    // Positions 10..20: the table holds up to 13, so the request would mix held and new rows.
    await expect(
      w.append('pa_events', sampleEvents(5, 4, 100), {
        claim: { 'nats/s/5': { first: 10, last: 20 } },
        alreadyCommitted: (m) => (positionsOf(m).get('nats/s/5') ?? 0) >= 10,
      }),
    ).rejects.toBeInstanceOf(AlreadyCommittedError)
    w.close()
    const after = await writer.load('pa_events')
    expect(running.leads()).toEqual(['pa_events'])
    await expectIcebirdRows('pa_events', after, expected, { dir: s3.dir, endpoint: s3.endpoint })
  })
})

/**
 * The NATS JetStream transport (src/log/nats.ts) against the real server at 127.0.0.1:4222 and
 * the partition leases in a real Postgres database: records of one key stay in one partition in
 * order; a consumer starts after the positions `assigned` answers; a second consumer joining takes
 * half the partitions and no partition is read by both after the revoke; `commit` purges; NATS
 * unreachable or too many publishes in flight → LogUnavailableError. Also the role settings.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { randomUUID } from 'node:crypto'
import { LogUnavailableError, ConfigError } from '../../src/errors.ts'
import { NatsLog, type NatsLogOptions } from '../../src/log/nats.ts'
import { PartitionLeases, shareOf } from '../../src/log/partition-leases.ts'
import { partitionOf } from '../../src/log/partition.ts'
import type { ConsumerHandler, LogConsumer, LogRecordIn, Positions } from '../../src/log/transport.ts'
import { PgSql } from '../../src/storage/index.ts'
import { loadConfig } from '../../src/config.ts'
import { createTestDatabase } from '../support/pg.ts'

const NATS_URL = process.env.FLOE_TEST_NATS_URL ?? 'nats://127.0.0.1:4222'
const tag = randomUUID().slice(0, 8)
const options: NatsLogOptions = {
  servers: [NATS_URL],
  stream: `floe-unit-${tag}`,
  subjectPrefix: `floeunit.${tag}`,
  partitions: 4,
  replicas: 1,
  duplicateWindowSeconds: 60,
  maxInFlight: 1000,
  publishTimeoutMs: 2000,
}
let db: { url: string; drop: () => Promise<void> }
let sql: PgSql
let log: NatsLog
const consumers: LogConsumer[] = []

beforeAll(async () => {
  db = await createTestDatabase('floe_nats_unit')
  sql = new PgSql(db.url)
  log = await NatsLog.open(options)
})

afterAll(async () => {
  for (const c of consumers) await c.close()
  await log?.jsm.streams.delete(options.stream).catch(() => false)
  await log?.close()
  await sql?.close()
  await db?.drop()
})

class Collect implements ConsumerHandler {
  readonly got = new Map<string, LogRecordIn[]>()
  owned = new Set<string>()
  constructor(private readonly start: Positions = {}) {}
  async assigned(partitions: string[]): Promise<Positions> {
    for (const p of partitions) this.owned.add(p)
    return Object.fromEntries(partitions.filter((p) => p in this.start).map((p) => [p, this.start[p]]))
  }
  async revoked(partitions: string[]): Promise<void> {
    for (const p of partitions) this.owned.delete(p)
  }
  async records(partition: string, records: LogRecordIn[]): Promise<void> {
    expect(this.owned.has(partition)).toBe(true) // never after its revoke
    this.got.set(partition, [...(this.got.get(partition) ?? []), ...records])
  }
  count(): number {
    return [...this.got.values()].reduce((n, r) => n + r.length, 0)
  }
}

async function until(ok: () => boolean, ms = 20_000): Promise<void> {
  const end = Date.now() + ms
  while (!ok()) {
    if (Date.now() > end) throw new Error('timed out')
    await new Promise((r) => setTimeout(r, 50))
  }
}

function consumer(leaseMs = 3000): LogConsumer {
  const c = log.consumer(new PartitionLeases(sql, `nats/${options.stream}`, `w-${randomUUID()}`, leaseMs), {
    leaseMs,
  })
  consumers.push(c)
  return c
}

describe('NATS JetStream transport', () => {
  it('keeps a key in one partition, in order; resumes after assigned positions; shares partitions', async () => {
    const producer = log.producer()
    const keys = ['site-a', 'site-b', 'site-c', 'site-d', 'site-e']
    for (let i = 0; i < 20; i++)
      await producer.publish(keys.map((key) => ({ key, value: Buffer.from(`${key}:${i}`) })))

    const first = new Collect()
    await consumer().start(first)
    await until(() => first.count() === 100)
    for (const key of keys) {
      const partition = log.partitionName(partitionOf(key, 4))
      const values = first.got
        .get(partition)!
        .filter((r) => r.key === key)
        .map((r) => Buffer.from(r.value).toString())
      expect(values).toEqual(Array.from({ length: 20 }, (_, i) => `${key}:${i}`))
    }
    const positions = [...first.got.values()].flat().map((r) => r.position)
    expect(new Set(positions).size).toBe(100)

    // A second consumer starting after the 10th record of each partition reads only what follows.
    await consumers.pop()!.close()
    const after: Positions = {}
    for (const [p, records] of first.got) after[p] = records[Math.min(9, records.length - 1)].position
    const second = new Collect(after)
    await consumer().start(second)
    const expected = [...first.got.values()].reduce((n, r) => n + Math.max(0, r.length - 10), 0)
    await until(() => second.count() === expected)
    for (const [p, records] of second.got) expect(records[0].position).toBeGreaterThan(after[p])

    // A third joins: the four partitions are shared two and two, none owned by both.
    const third = new Collect(after)
    await consumer().start(third)
    await until(() => second.owned.size === 2 && third.owned.size === 2)
    expect([...second.owned].filter((p) => third.owned.has(p))).toEqual([])
    // New records reach whoever owns their partition.
    const before = second.count() + third.count()
    await producer.publish(keys.map((key) => ({ key, value: Buffer.from(`${key}:late`) })))
    await until(() => second.count() + third.count() >= before + 5)
  }, 60_000)

  it('commit purges the committed messages of a partition', async () => {
    const c = consumers[consumers.length - 1]
    const owned = [...((c as unknown as { held: Set<string> }).held ?? [])]
    const partition = owned[0]
    const subject = log.subjectOf(partition)
    const before =
      (await log.jsm.streams.info(options.stream, { subjects_filter: subject })).state.subjects?.[subject] ??
      0
    expect(before).toBeGreaterThan(0)
    const last = (await log.jsm.streams.getMessage(options.stream, { last_by_subj: subject }))!.seq
    await c.commit({ [partition]: last })
    const info = await log.jsm.streams.info(options.stream, { subjects_filter: subject })
    expect(info.state.subjects?.[subject] ?? 0).toBe(0)
  })

  it('answers LogUnavailableError when NATS is unreachable or too many publishes are in flight', async () => {
    await expect(
      NatsLog.open({ ...options, servers: ['nats://127.0.0.1:1'], publishTimeoutMs: 500 }),
    ).rejects.toBeInstanceOf(LogUnavailableError)
    const small = await NatsLog.open({ ...options, maxInFlight: 3 })
    try {
      const p = small.producer()
      const one = p.publish([
        { key: 'a', value: Buffer.from('1') },
        { key: 'b', value: Buffer.from('2') },
      ])
      await expect(
        p.publish([
          { key: 'c', value: Buffer.from('3') },
          { key: 'd', value: Buffer.from('4') },
        ]),
      ).rejects.toBeInstanceOf(LogUnavailableError)
      await one
    } finally {
      await small.close()
    }
  })

  it('round-robin share of partitions over sorted members', () => {
    const parts = ['s/0', 's/1', 's/2', 's/3', 's/4']
    expect(shareOf(parts, ['a', 'b'], 'a')).toEqual(['s/0', 's/2', 's/4'])
    expect(shareOf(parts, ['a', 'b'], 'b')).toEqual(['s/1', 's/3'])
    expect(shareOf(parts, ['a', 'b'], 'c')).toEqual([])
  })
})

describe('role settings', () => {
  it('receiver and writer need a replicated log and DATABASE_URL, naming the variable', () => {
    expect(() => loadConfig({ FLOE_ROLE: 'writer' })).toThrow(ConfigError)
    expect(() => loadConfig({ FLOE_ROLE: 'writer' })).toThrow(/FLOE_LOG/)
    expect(() => loadConfig({ FLOE_ROLE: 'receiver', FLOE_LOG: 'nats' })).toThrow(/DATABASE_URL/)
    expect(() => loadConfig({ FLOE_ROLE: 'boss' })).toThrow(/FLOE_ROLE/)
    const c = loadConfig({
      FLOE_ROLE: 'receiver',
      FLOE_LOG: 'nats',
      DATABASE_URL: 'postgres://x/y',
      APP_SECRET: 's',
    })
    expect(c.role).toBe('receiver')
    expect(c.log.nats.servers).toEqual(['nats://127.0.0.1:4222'])
    expect(loadConfig({}).role).toBe('all')
    expect(loadConfig({}).log.kind).toBe('wal')
  })

  it('the commit coordinator is on for writers, off otherwise, and needs DATABASE_URL', () => {
    const env = { FLOE_LOG: 'nats', DATABASE_URL: 'postgres://x/y', APP_SECRET: 's' }
    const writer = loadConfig({ ...env, FLOE_ROLE: 'writer' })
    expect(writer.log.commitCoordinator).toBe(true)
    expect(writer.log.commitIntervalMs).toBe(1000)
    expect(loadConfig({ ...env, FLOE_ROLE: 'all' }).log.commitCoordinator).toBe(false)
    expect(
      loadConfig({ ...env, FLOE_ROLE: 'writer', FLOE_LOG_COMMIT_COORDINATOR: 'false' }).log.commitCoordinator,
    ).toBe(false)
    expect(
      loadConfig({ ...env, FLOE_ROLE: 'writer', FLOE_LOG_COMMIT_INTERVAL_MS: '250' }).log.commitIntervalMs,
    ).toBe(250)
    expect(() => loadConfig({ FLOE_LOG: 'nats', FLOE_LOG_COMMIT_COORDINATOR: 'true' })).toThrow(
      /FLOE_LOG_COMMIT_COORDINATOR/,
    )
    expect(() => loadConfig({ ...env, FLOE_ROLE: 'writer', FLOE_LOG_COMMIT_COORDINATOR: 'maybe' })).toThrow(
      /FLOE_LOG_COMMIT_COORDINATOR/,
    )
  })
})

/**
 * The Kafka transport (src/log/kafka.ts, kafka-consumer.ts) against a real Apache Kafka broker:
 * Kafka's own jars from Maven Central run as one KRaft JVM (test/support/kafka-broker.ts). In the
 * engines suite (`npm run test:engines`) because the broker comes from Maven.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { Admin, Consumer } from '@platformatic/kafka'
import { LogUnavailableError } from '../../src/errors.ts'
import { kafkaConsumer, type KafkaConsumerOptions } from '../../src/log/kafka-consumer.ts'
import { kafkaProducer } from '../../src/log/kafka.ts'
import type { ConsumerHandler, LogRecordIn, Positions } from '../../src/log/transport.ts'
import { startKafkaBroker, type KafkaBroker } from '../support/kafka-broker.ts'

let broker: KafkaBroker

beforeAll(async () => {
  broker = await startKafkaBroker()
}, 180_000)

afterAll(async () => {
  await broker?.destroy()
})

let topicSeq = 0
function options(partitions = 4): KafkaConsumerOptions {
  topicSeq++
  return {
    brokers: [broker.bootstrap],
    topic: `floe-test-${process.pid}-${topicSeq}`,
    group: `floe-writers-${process.pid}-${topicSeq}`,
    partitions,
    replicas: 1,
    publishTimeoutMs: 3000,
    sessionTimeoutMs: 3000,
    heartbeatIntervalMs: 300,
    maxWaitMs: 200,
  }
}

const enc = (s: string) => new TextEncoder().encode(s)
const dec = (b: Uint8Array) => new TextDecoder().decode(b)

interface Delivery {
  partition: string
  position: number
  key: string
  value: string
}

/**
 * A handler standing in for a writer: `table` is the shared "tables" (partition → last committed
 * position), committed as soon as records arrive; every call is logged in order with its writer's name.
 */
function recorder(name: string, table: Map<string, number>, events: string[]) {
  const delivered: Delivery[] = []
  const owned = new Set<string>()
  // Partition names are `<topic>/<n>`; events and deliveries show the number.
  const n = (p: string) => {
    expect(p).toMatch(/^floe-test-[0-9]+-[0-9]+\/[0-9]+$/)
    return p.slice(p.lastIndexOf('/') + 1)
  }
  const handler: ConsumerHandler = {
    async assigned(partitions) {
      for (const p of partitions) owned.add(n(p))
      events.push(`${name} assigned ${partitions.map(n).join(',')}`)
      const positions: Positions = {}
      for (const p of partitions) if (table.has(n(p))) positions[p] = table.get(n(p))!
      return positions
    },
    async revoked(partitions) {
      for (const p of partitions) owned.delete(n(p))
      events.push(`${name} revoked ${partitions.map(n).join(',')}`)
    },
    async records(partition, records: LogRecordIn[]) {
      const p = n(partition)
      if (!owned.has(p)) events.push(`${name} records for unowned ${p}`)
      for (const r of records)
        delivered.push({ partition: p, position: r.position, key: r.key, value: dec(r.value) })
      table.set(p, records.at(-1)!.position)
    },
  }
  return { handler, delivered, owned }
}

async function until(what: string, check: () => boolean, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await new Promise((r) => setTimeout(r, 50))
  }
}

describe('Kafka transport against a real broker', { timeout: 90_000 }, () => {
  it('round trip: records keyed by site stay in one partition, in order, acknowledged before publish resolves', async () => {
    const o = options()
    const producer = kafkaProducer(o)
    const sites = ['site-a', 'site-b', 'site-c', 'site-d', 'site-e', 'site-f', 'site-g', 'site-h']
    const sent: string[] = []
    for (let batch = 0; batch < 10; batch++) {
      const records = sites.map((site) => ({ key: site, value: enc(`${site}#${batch}`) }))
      await producer.publish(records)
      sent.push(...records.map((r) => dec(r.value)))
    }
    // Acknowledged means in the log: the partitions' end offsets already count every record.
    const probe = new Consumer({
      clientId: 'floe-test',
      groupId: 'floe-test-probe',
      bootstrapBrokers: [broker.bootstrap],
    })
    const ends = await probe.listOffsets({ topics: [o.topic] })
    await probe.close()
    expect(ends.get(o.topic)!.reduce((n, x) => n + Number(x), 0)).toBe(sent.length)

    const table = new Map<string, number>()
    const events: string[] = []
    const w = recorder('w1', table, events)
    const consumer = kafkaConsumer(o)
    await consumer.start(w.handler)
    await until('all records', () => w.delivered.length >= sent.length)
    await consumer.close()
    await producer.close()

    expect(w.delivered.map((d) => d.value).sort()).toEqual([...sent].sort())
    expect(events[0]).toBe('w1 assigned 0,1,2,3')
    const partitionOf = new Map<string, string>()
    for (const d of w.delivered) {
      expect(partitionOf.get(d.key) ?? d.partition).toBe(d.partition)
      partitionOf.set(d.key, d.partition)
    }
    // Several partitions used, and each site's records in the order they were published.
    expect(new Set(partitionOf.values()).size).toBeGreaterThan(1)
    for (const site of sites) {
      const mine = w.delivered.filter((d) => d.key === site)
      expect(mine.map((d) => d.value)).toEqual(Array.from({ length: 10 }, (_, i) => `${site}#${i}`))
      expect(mine.map((d) => d.position)).toEqual([...mine.map((d) => d.position)].sort((a, b) => a - b))
    }
    // Positions are offsets + 1: each partition's first record is position 1 (0 means "nothing held").
    for (const p of new Set(partitionOf.values()))
      expect(Math.min(...w.delivered.filter((d) => d.partition === p).map((d) => d.position))).toBe(1)
    // On close the writer is told its partitions are gone.
    expect(events.at(-1)).toBe('w1 revoked 0,1,2,3')
  })

  it('resumes each partition after the position the tables answer, not at the group offset', async () => {
    const o = options(2)
    const producer = kafkaProducer(o)
    // One key per partition: find two keys that land apart.
    const records = Array.from({ length: 40 }, (_, i) => ({ key: `s${i % 8}`, value: enc(`v${i}`) }))
    await producer.publish(records)

    const first = recorder('w1', new Map(), [])
    const c1 = kafkaConsumer(o)
    await c1.start(first.handler)
    await until('first pass', () => first.delivered.length === 40)
    // Commit to Kafka far ahead of what the "tables" will say: the consumer must not use it.
    await c1.commit({ [`${o.topic}/0`]: 1000, [`${o.topic}/1`]: 1000 })
    await c1.close()
    const byPartition = (p: string) => first.delivered.filter((d) => d.partition === p)
    expect(byPartition('0').length).toBeGreaterThan(3)
    expect(byPartition('1').length).toBeGreaterThan(3)

    // The tables hold partition 0 up to its third record; partition 1 not at all.
    const table = new Map<string, number>([['0', byPartition('0')[2].position]])
    const second = recorder('w2', table, [])
    const c2 = kafkaConsumer(o)
    await c2.start(second.handler)
    const want = byPartition('0').length - 3 + byPartition('1').length
    await until('second pass', () => second.delivered.length === want)
    await new Promise((r) => setTimeout(r, 500))
    await c2.close()
    await producer.close()
    expect(second.delivered.length).toBe(want)
    expect(second.delivered.filter((d) => d.partition === '0').map((d) => d.value)).toEqual(
      byPartition('0')
        .slice(3)
        .map((d) => d.value),
    )
    expect(second.delivered.filter((d) => d.partition === '1').map((d) => d.value)).toEqual(
      byPartition('1').map((d) => d.value),
    )
  })

  it('commit() records the group offsets (= positions: offset + 1, the next offset to read) for monitoring', async () => {
    const o = options(2)
    const producer = kafkaProducer(o)
    await producer.publish(Array.from({ length: 20 }, (_, i) => ({ key: `k${i}`, value: enc(`v${i}`) })))
    const w = recorder('w', new Map(), [])
    const c = kafkaConsumer(o)
    await c.start(w.handler)
    await until('records', () => w.delivered.length === 20)
    const last: Positions = {}
    for (const d of w.delivered) last[d.partition] = Math.max(last[d.partition] ?? -1, d.position)
    await c.commit(Object.fromEntries(Object.entries(last).map(([p, at]) => [`${o.topic}/${p}`, at])))
    await c.close()
    await producer.close()

    const admin = new Admin({ clientId: 'floe-test', bootstrapBrokers: [broker.bootstrap] })
    const groups = await admin.listConsumerGroupOffsets({ groups: [o.group] })
    await admin.close()
    const got: Record<string, number> = {}
    for (const g of groups)
      for (const t of g.topics)
        if (t.name === o.topic)
          for (const p of t.partitions) got[String(p.partitionIndex)] = Number(p.committedOffset)
    expect(got).toEqual(last)
  })

  it('rebalance: a second writer joins under load, partitions move, no record goes to a writer after its revoke, none twice', async () => {
    const o = options(4)
    const producer = kafkaProducer(o)
    const table = new Map<string, number>()
    const events: string[] = []
    const a = recorder('A', table, events)
    const b = recorder('B', table, events)
    const ca = kafkaConsumer(o)
    await ca.start(a.handler)

    let published = 0
    let stop = false
    const load = (async () => {
      for (let i = 0; !stop && i < 2000; i++) {
        await producer.publish(
          Array.from({ length: 8 }, (_, j) => ({ key: `site-${j}`, value: enc(`${i}:${j}`) })),
        )
        published += 8
        await new Promise((r) => setTimeout(r, 5))
      }
    })()
    await until('A consuming', () => a.delivered.length > 50)
    const cb = kafkaConsumer({ ...o, clientId: 'floe-b' })
    await cb.start(b.handler)
    await until(
      'B owns partitions',
      () => b.owned.size > 0 && a.owned.size > 0 && b.owned.size + a.owned.size === 4,
    )
    await until('B consuming', () => b.delivered.length > 50)
    stop = true
    await load
    await until('everything delivered', () => a.delivered.length + b.delivered.length >= published)
    await new Promise((r) => setTimeout(r, 500))
    await ca.close()
    await cb.close()
    await producer.close()

    expect(events.filter((e) => e.includes('unowned'))).toEqual([])
    // A gave up what B got, before B was told (cooperative: revoke round first, then assign).
    const bAssigned = events.findIndex((e) => e.startsWith('B assigned'))
    const aRevoked = events.findIndex((e) => e.startsWith('A revoked'))
    expect(aRevoked).toBeGreaterThan(-1)
    expect(aRevoked).toBeLessThan(bAssigned)
    // Every published record exactly once across both writers.
    const all = [...a.delivered, ...b.delivered].map((d) => `${d.partition}@${d.position}`)
    expect(new Set(all).size).toBe(all.length)
    expect(all.length).toBe(published)
  })

  it('broker down: publish fails with LogUnavailableError within the deadline; back up: publishing and consuming resume', async () => {
    const o = options(2)
    const producer = kafkaProducer(o)
    await producer.publish([{ key: 'site', value: enc('before') }])
    const w = recorder('w', new Map(), [])
    const c = kafkaConsumer(o)
    await c.start(w.handler)
    await until('first record', () => w.delivered.length === 1)

    await broker.stop()
    const started = Date.now()
    const err = await producer.publish([{ key: 'site', value: enc('during') }]).catch((e: unknown) => e)
    expect(err).toBeInstanceOf(LogUnavailableError)
    expect((err as LogUnavailableError).retryAfterSeconds).toBeGreaterThan(0)
    expect(Date.now() - started).toBeLessThan(o.publishTimeoutMs + 1000)

    await broker.start()
    let ok = false
    for (let i = 0; i < 40 && !ok; i++) {
      ok = await producer.publish([{ key: 'site', value: enc('after') }]).then(
        () => true,
        () => false,
      )
      if (!ok) await new Promise((r) => setTimeout(r, 500))
    }
    expect(ok).toBe(true)
    await until('record after restart', () => w.delivered.some((d) => d.value === 'after'), 60_000)
    await c.close()
    await producer.close()
    // Nothing delivered twice across the outage ('during' may or may not have landed: it was refused).
    const positions = w.delivered.map((d) => `${d.partition}@${d.position}`)
    expect(new Set(positions).size).toBe(positions.length)
  })
})

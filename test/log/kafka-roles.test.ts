/**
 * FLOE_LOG=kafka end to end: receivers and writers as separate processes (`src/main.ts` with
 * FLOE_ROLE) joined by a real Apache Kafka broker (KRaft, Kafka's own jars from Maven Central:
 * test/support/kafka-broker.ts), under continuous load on several sites so every partition is used.
 * A second writer joins under load (the group rebalances: partitions move), the first writer is
 * SIGKILLed (mid-commit: it flushes every 40 rows or 1 s; its partitions move once its session
 * times out), the receiver is SIGKILLed with publishes in flight and replaced. Afterwards every
 * event that got a 2xx is in pa_events exactly once, compared by id (the marker in its URL) as
 * icebird reads the table, and the snapshot summaries carry the Kafka positions.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { compatibilityPartitioner, Consumer } from '@platformatic/kafka'
import {
  adminFlush,
  checkLanded,
  createSite,
  startServices,
  type FloeProcess,
  type Services,
} from '../e2e/support.ts'
import { startKafkaBroker, type KafkaBroker } from '../support/kafka-broker.ts'
import { kill, RoleChildren, rolesEnv, SiteLoads, sleep, tableMetadata } from '../support/roles.ts'

const TOPIC = 'floe-events-e2e'
const GROUP = 'floe-writers-e2e'

let services: Services
let broker: KafkaBroker
let base: Record<string, string>
// Generous start timeout: on a loaded 2-core machine a cold tsx start alone has taken over a minute.
const children = new RoleChildren('floe-kafka', 240_000)
const start = (role: 'receiver' | 'writer') => children.start(role, base)

beforeAll(async () => {
  ;[services, broker] = await Promise.all([startServices('floe_kafka_roles'), startKafkaBroker()])
  base = {
    ...rolesEnv(services),
    FLOE_LOG: 'kafka',
    FLOE_KAFKA_BROKERS: broker.bootstrap,
    FLOE_KAFKA_TOPIC: TOPIC,
    FLOE_KAFKA_GROUP: GROUP,
    // The group's session timeout: a killed writer's partitions move after 3 s.
    FLOE_LOG_LEASE_SECONDS: '3',
  }
}, 240_000)

afterAll(async () => {
  children.cleanup()
  await services?.close()
  await broker?.destroy()
})

describe('FLOE_ROLE=receiver / writer over Kafka', () => {
  it(
    'every acknowledged event is in the table exactly once after a rebalance, a writer SIGKILL and a receiver SIGKILL',
    { timeout: 600_000 },
    async () => {
      const sites = await Promise.all([0, 1, 2, 3, 4, 5].map(() => createSite(services.db.url)))
      const [receiver1, writer1] = await Promise.all([start('receiver'), start('writer')])
      let receiver = receiver1
      const target = () => receiver.base
      const loads = new SiteLoads(target, sites, 'kafka')
      const { acked, waitForAcks } = loads
      let writer2: FloeProcess | undefined
      try {
        await waitForAcks(150)
        // A second writer joins under load (the group moves two partitions to it) and a second
        // receiver starts beside it, to take over from the first.
        let receiver2: FloeProcess
        ;[writer2, receiver2] = await Promise.all([start('writer'), start('receiver')])
        await waitForAcks(acked() + 150)
        // The first writer dies at a random point of its 40-row / 1 s flush cycle, so mid-commit or
        // close to it; the second gets its partitions once its session (3 s) ran out.
        await sleep(Math.random() * 500)
        await kill(writer1)
        await waitForAcks(acked() + 150)
        // The receiver dies with publishes in flight; requests it did not answer are not acked.
        await kill(receiver)
        receiver = receiver2
        await waitForAcks(acked() + 150)
      } finally {
        await loads.stop()
      }
      const all = loads.all()
      expect(all.length).toBeGreaterThan(600)

      // Writers commit by themselves (1 s); a flush hurries the last rows.
      let result = await checkLanded(services.db.url, all)
      for (let i = 0; i < 60 && result.lost.length > 0; i++) {
        await adminFlush(writer2!.base)
        await sleep(500)
        result = await checkLanded(services.db.url, all)
      }
      if (result.lost.length > 0)
        console.error(children.processes.map((p) => p.stderr().slice(-4000)).join('\n---\n'))
      expect(result.duplicated).toEqual([])
      expect(result.lost).toEqual([])

      // The positions are in the snapshot summaries and the table properties, under kafka/<topic>/<n>.
      const metadata = await tableMetadata(services, 'pa_events')
      const prefix = `floe.log-position.kafka/${TOPIC}/`
      const props = Object.keys(metadata.properties).filter((k) => k.startsWith(prefix))
      // One per partition that holds a site (six random site ids may leave one of four empty);
      // the partition is the one Kafka's Java producer picks (murmur2 of the site id, mod 4).
      const used = [
        ...new Set(sites.map((s) => compatibilityPartitioner(undefined as never, Buffer.from(s)) % 4)),
      ]
      expect(props.sort()).toEqual(used.sort().map((p) => `${prefix}${p}`))
      const summaries = metadata.snapshots.map((s) => s.summary['floe.log-positions']).filter(Boolean)
      expect(summaries.length).toBeGreaterThan(4)

      // The writers told Kafka how far the tables hold each partition (monitoring): the group's
      // committed offsets (the next offset to read = the position) are at most the table's position.
      const probe = new Consumer({
        clientId: 'floe-test',
        groupId: GROUP,
        bootstrapBrokers: [broker.bootstrap],
      })
      const committed = await probe.listCommittedOffsets({
        topics: [{ topic: TOPIC, partitions: [0, 1, 2, 3] }],
      })
      await probe.close()
      const offsets = committed.get(TOPIC)!
      for (const p of used) {
        const held = Number(metadata.properties[`${prefix}${p}`])
        expect(Number(offsets[p])).toBeLessThanOrEqual(held)
        expect(Number(offsets[p])).toBeGreaterThan(0)
      }

      for (const p of [receiver, writer2!]) p.child.kill('SIGTERM')
      expect(await Promise.all([receiver, writer2!].map((p) => p.exited))).toEqual([0, 0])
    },
  )
})

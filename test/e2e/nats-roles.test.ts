/**
 * Receivers and writers as separate processes (`src/main.ts` with FLOE_ROLE) joined by the real NATS
 * JetStream at 127.0.0.1:4222, under continuous load on six sites (so every partition is used): a
 * second writer joins under load (the four partitions are rebalanced 2 + 2), the first writer is
 * SIGKILLed (mid-commit: it flushes every 40 rows or 1 s) and its partitions move, the receiver is
 * SIGKILLed with publishes in flight and another takes the load. Afterwards every event that got a
 * 2xx is in pa_events exactly once, compared by id (the marker in its URL) as icebird reads the
 * table, and the positions are in the snapshot summaries and table properties.
 *
 * The first receiver and writer are child processes (they are the ones SIGKILLed); the joining
 * writer and the replacement receiver run in this process (createApp, as main.ts builds it), since
 * each child's start costs tens of seconds on a loaded 2-core machine. Each run uses its own stream
 * and subjects, deleted at the end. About 60 s on an idle machine; the timeout allows for load.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { randomUUID } from 'node:crypto'
import { connect } from '@nats-io/transport-node'
import { jetstreamManager } from '@nats-io/jetstream'
import { checkLanded, createSite, startInProcess, startServices, type Services } from './support.ts'
import type { FloeApp } from '../../src/app.ts'
import { partitionOf } from '../../src/log/partition.ts'
import { kill, RoleChildren, rolesEnv, SiteLoads, sleep, tableMetadata, until } from '../support/roles.ts'

const NATS_URL = process.env.FLOE_TEST_NATS_URL ?? 'nats://127.0.0.1:4222'
const tag = randomUUID().slice(0, 8)
const STREAM = `floe-test-${tag}`

let services: Services
let writer2: { app: FloeApp; base: string } | undefined
let receiver2: { app: FloeApp; base: string } | undefined
let base: Record<string, string>
const children = new RoleChildren('floe', 200_000)
const start = (role: 'receiver' | 'writer') => children.start(role, base)

beforeAll(async () => {
  services = await startServices('floe_nats_roles')
  base = {
    ...rolesEnv(services),
    FLOE_LOG: 'nats',
    FLOE_NATS_URL: NATS_URL,
    FLOE_NATS_STREAM: STREAM,
    FLOE_NATS_SUBJECT_PREFIX: `floetest.${tag}`,
    FLOE_LOG_LEASE_SECONDS: '4',
  }
})

afterAll(async () => {
  await writer2?.app.close()
  await receiver2?.app.close()
  children.cleanup()
  await services?.close()
  const nc = await connect({ servers: NATS_URL })
  await (await jetstreamManager(nc)).streams.delete(STREAM).catch(() => false)
  await nc.close()
})

describe('FLOE_ROLE=receiver / writer over NATS JetStream', () => {
  it(
    'every acknowledged event is in the table exactly once after writer and receiver SIGKILLs and a rebalance',
    { timeout: 360_000 },
    async () => {
      const sites = await Promise.all([0, 1, 2, 3, 4, 5].map(() => createSite(services.db.url)))
      // Process starts are the slow part on a loaded machine: the three children start together
      // (the second receiver idles until the first is killed); the joining writer runs in this
      // process (createApp, as src/main.ts builds it), which starts in a second.
      const [receiver1, writer1] = await Promise.all([start('receiver'), start('writer')])
      let receiverBase = receiver1.base
      const target = () => receiverBase
      const loads = new SiteLoads(target, sites, 'nats')
      const { acked, waitForAcks } = loads
      try {
        await waitForAcks(150)
        // A second writer joins under load: the four partitions are shared, two each.
        const dir = children.dataDir('writer')
        writer2 = await startInProcess({ ...base, FLOE_ROLE: 'writer', PORT: '0', FLOE_DATA_DIR: dir })
        await waitForAcks(acked() + 150)
        // The first writer gives two partitions up after its commit in flight; the second takes them.
        await until(() => writer2!.app.logWriter!.owned().length === 2, 'the partitions are shared')
        // The first writer is killed at a random point while it flushes every 40 rows / 1 s, so
        // mid-commit or close to it; the second takes its partitions once its leases run out (3 s).
        await sleep(Math.random() * 500)
        await kill(writer1)
        await waitForAcks(acked() + 150)
        // The receiver dies with publishes in flight; requests it did not answer are not acked.
        const dir2 = children.dataDir('receiver')
        receiver2 = await startInProcess({ ...base, FLOE_ROLE: 'receiver', PORT: '0', FLOE_DATA_DIR: dir2 })
        await kill(receiver1)
        receiverBase = receiver2.base
        await waitForAcks(acked() + 150)
      } finally {
        await loads.stop()
      }
      const all = loads.all()
      expect(all.length).toBeGreaterThan(600)

      // Writers commit by themselves (1 s); a flush on each hurries the last rows.
      let result = await checkLanded(services.db.url, all)
      for (let i = 0; i < 40 && result.lost.length > 0; i++) {
        await writer2!.app.flush()
        await sleep(500)
        result = await checkLanded(services.db.url, all)
      }
      expect(result.duplicated).toEqual([])
      expect(result.lost).toEqual([])

      // The positions are in the snapshot summaries, and as table properties (they survive expiry).
      const metadata = await tableMetadata(services, 'pa_events')
      const positionProps = Object.keys(metadata.properties).filter((k) =>
        k.startsWith(`floe.log-position.nats/${STREAM}/`),
      )
      // One per partition that holds a site (six random site ids may leave one of four empty).
      const used = [...new Set(sites.map((s) => partitionOf(s, 4)))].sort()
      expect(positionProps.sort()).toEqual(used.map((p) => `floe.log-position.nats/${STREAM}/${p}`))
      const summaries = metadata.snapshots.map((s) => s.summary['floe.log-positions']).filter(Boolean)
      // Several commits over the run; the commit coordinator joins the writers' flushes, so how many
      // depends on timing (a loaded machine joins more per round).
      expect(summaries.length).toBeGreaterThan(1)
      expect(Object.keys(JSON.parse(summaries[0]) as object)[0]).toMatch(`nats/${STREAM}/`)

      await until(() => writer2!.app.logWriter!.owned().length === 4, "the killed writer's partitions move")
      expect(await receiver2!.app.close()).toBe(true)
      receiver2 = undefined
      expect(await writer2!.app.close()).toBe(true)
      writer2 = undefined
    },
  )
})

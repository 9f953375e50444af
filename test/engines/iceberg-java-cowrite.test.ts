/**
 * Iceberg Java as a second writer in Floe's tables (core API only): between and during Floe's
 * flushes, Java appends a data file of its own (Iceberg's generic Parquet writer), rewrites the
 * manifests and expires snapshots, including the ones that carry Floe's recovery markers. Floe keeps
 * appending; no conflict is fatal; afterwards every event is in the table exactly once, by Java's
 * scan and by icebird's. Then Floe is killed (SIGKILL) with acknowledged, unflushed events in its
 * WAL after Java expired its marker snapshots, and restarted: recovery must neither lose nor
 * duplicate a row.
 */
import { randomUUID } from 'node:crypto'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { installFetchShim, metadataLocation, readWithIcebird } from '../e2e/readback.ts'
import { freePort, spawnFloe, type FloeProcess } from '../e2e/support.ts'
import { buildIcebergJava, linesOf, runIcebergJava, type JavaCatalog } from './support/java-iceberg.ts'
import {
  CATALOG_NAME,
  DAY_A,
  DAY_B,
  NAMESPACE,
  clientFor,
  eventItem,
  knownRounds,
  sendRound,
  startFloe,
  type ExpectedEvent,
  type FloeFixture,
} from './support/floe-fixture.ts'
import { acceptHadoopFileUrls, expectEventsEqual } from './support/java-checks.ts'

let floe: FloeFixture
let jdbc: JavaCatalog
let child: FloeProcess | undefined
const expected: ExpectedEvent[] = []

beforeAll(async () => {
  const build = buildIcebergJava()
  installFetchShim()
  acceptHadoopFileUrls()
  floe = await startFloe({ catalogType: 'jdbc', dbPrefix: 'floe_engines_cowrite' })
  const u = new URL(floe.databaseUrl)
  jdbc = {
    type: 'jdbc',
    name: CATALOG_NAME,
    namespace: NAMESPACE,
    properties: {
      uri: `jdbc:postgresql://${u.hostname}:${u.port || 5432}${u.pathname}`,
      'jdbc.user': decodeURIComponent(u.username || 'postgres'),
      'jdbc.password': decodeURIComponent(u.password),
      'jdbc.schema-version': 'V1',
      warehouse: `file://${floe.warehouse}`,
    },
  }
  await build
})

afterAll(async () => {
  if (child && child.child.exitCode === null) {
    child.child.kill('SIGTERM')
    await child.exited
  }
  await floe?.close()
})

/** A pa_events row as Java appends it: every required column, a unicode title and a map. */
function javaRow(marker: string, site: string, day: string, hh: number): Record<string, unknown> {
  const t = Date.parse(`${day}T${String(hh).padStart(2, '0')}:30:00Z`) * 1000
  return {
    site_id: site,
    event_id: randomUUID(),
    session_id: randomUUID(),
    visit_id: randomUUID(),
    event_time: t,
    received_at: t,
    event_type: 2,
    event_name: 'java ☕',
    url_path: `/m/${marker}`,
    page_title: 'Geschrieben von Java — Iceberg',
    hostname: 'example.com',
    event_data: { engine: 'iceberg-java', ключ: 'значение' },
  }
}

function javaExpected(row: Record<string, unknown>, day: string): ExpectedEvent {
  return {
    marker: String(row.url_path).slice('/m/'.length),
    site_id: String(row.site_id),
    event_time: Number(row.event_time),
    event_type: 2,
    event_name: 'java ☕',
    page_title: 'Geschrieben von Java — Iceberg',
    hostname: 'example.com',
    tag: null,
    distinct_id: null,
    language: null,
    screen: null,
    event_data: row.event_data as Record<string, string>,
    day,
  }
}

/** Floe events sent while Java works: a batch of 2 and a flush, every 150 ms, until `done`. */
async function floeKeepsAppending(
  client: Pick<FloeFixture, 'batch' | 'flush'>,
  sites: [string, string],
  prefix: string,
  done: () => boolean,
): Promise<{ sent: ExpectedEvent[]; flushes: number }> {
  const sent: ExpectedEvent[] = []
  let flushes = 0
  for (let i = 0; !done() || i < 2; i++) {
    const items = [0, 1].map((k) =>
      eventItem({
        marker: `${prefix}-${i}-${k}`,
        site: sites[k],
        day: i % 2 ? DAY_A : DAY_B,
        at: [(i % 20) + 1, k],
        data: { i: i, ü: 'ß' },
        eventData: { i: String(i), ü: 'ß' },
      }),
    )
    await client.batch(items.map((x) => x.body))
    await client.flush()
    flushes++
    sent.push(...items.map((x) => x.expected!))
    await new Promise((r) => setTimeout(r, 150))
  }
  return { sent, flushes }
}

async function expectExactlyOnce(): Promise<void> {
  const lines = await runIcebergJava(jdbc, [
    { op: 'scan', table: 'pa_events' },
    { op: 'metrics', table: 'pa_events' },
  ])
  expectEventsEqual(
    linesOf(lines, 'row', 'pa_events').map((l) => l.row as Record<string, unknown>),
    expected,
  )
  // Manifests Java rewrote still carry, for Floe's files, exactly the metrics Java computes.
  expect(linesOf(lines, 'metrics').flatMap((f) => f.diffs as unknown[])).toEqual([])
  const icebird = await readWithIcebird(await metadataLocation(floe.databaseUrl, 'pa_events'))
  const paths = icebird.map((r) => String(r.url_path)).sort()
  expect(paths).toEqual(expected.map((e) => `/m/${e.marker}`).sort())
}

describe('Iceberg Java writes and maintains the table Floe appends to', () => {
  it('Java appends, rewrites manifests and expires snapshots while Floe appends: every event once', async () => {
    const [s1, s2] = floe.sites
    expected.push(...(await sendRound(floe, knownRounds(floe.sites)[0])))

    // Java's own append between two Floe flushes.
    const rowsA = [javaRow('java-1', s1, DAY_A, 3), javaRow('java-2', s2, DAY_B, 4)]
    const appended = await runIcebergJava(jdbc, [{ op: 'append', table: 'pa_events', rows: rowsA }])
    expect((linesOf(appended, 'appended')[0].files as string[]).length).toBe(2)
    expected.push(javaExpected(rowsA[0], DAY_A), javaExpected(rowsA[1], DAY_B))
    expected.push(...(await sendRound(floe, knownRounds(floe.sites)[1])))

    // Now all three Java operations while Floe keeps appending and flushing.
    let javaDone = false
    const rowsB = [javaRow('java-3', s1, DAY_B, 5)]
    const java = runIcebergJava(jdbc, [
      { op: 'append', table: 'pa_events', rows: rowsB },
      { op: 'rewrite-manifests', table: 'pa_events' },
      { op: 'expire-snapshots', table: 'pa_events', retainLast: 1 },
      { op: 'rewrite-manifests', table: 'pa_sessions' },
      { op: 'expire-snapshots', table: 'pa_sessions', retainLast: 1 },
    ]).finally(() => (javaDone = true))
    const floeSide = floeKeepsAppending(floe, floe.sites, 'during', () => javaDone)
    const [javaLines, floeResult] = await Promise.all([java, floeSide])
    expected.push(javaExpected(rowsB[0], DAY_B), ...floeResult.sent)

    const rewritten = linesOf(javaLines, 'rewritten', 'pa_events')[0]
    expect(rewritten.operation).toBe('replace')
    const expired = linesOf(javaLines, 'expired', 'pa_events')[0]
    expect(Number(expired.snapshotsAfter)).toBeLessThan(Number(expired.snapshotsBefore))
    expect(floeResult.flushes).toBeGreaterThan(1)
    console.log(
      `co-write: ${floeResult.flushes} Floe flushes during Java's commits; pa_events manifests ` +
        `${rewritten.manifestsBefore} -> ${rewritten.manifestsAfter}; snapshots ${expired.snapshotsBefore} -> ${expired.snapshotsAfter}`,
    )

    // Floe appends on top of Java's snapshots after the expiry.
    expected.push(
      ...(await sendRound(floe, {
        send: [
          eventItem({ marker: 'after-expire', site: s2, day: DAY_A, at: [7, 7], title: 'nach dem Ablauf' }),
        ],
        batch: [],
      })),
    )
    await expectExactlyOnce()
  })

  it("Floe's recovery after SIGKILL, with its marker snapshots expired by Java: nothing lost, nothing twice", async () => {
    const [s1, s2] = floe.sites
    await floe.stop()
    const port = await freePort()
    const env = { ...floe.env, PORT: String(port) }
    child = await spawnFloe(env)
    const client = clientFor(child.base)
    // Committed by the child (its markers in the chain), then expired by Java.
    for (const k of [0, 1, 2]) {
      const item = eventItem({ marker: `child-${k}`, site: k ? s1 : s2, day: DAY_B, at: [8, k] })
      await client.send(item.body)
      expected.push(item.expected!)
    }
    await client.flush()
    await runIcebergJava(jdbc, [
      { op: 'append', table: 'pa_events', rows: [javaRow('java-4', s2, DAY_A, 6)] },
      { op: 'expire-snapshots', table: 'pa_events', retainLast: 1 },
    ])
    expected.push(javaExpected(javaRow('java-4', s2, DAY_A, 6), DAY_A))
    // Acknowledged, in the WAL, not committed: then the process dies.
    for (const k of [0, 1]) {
      const item = eventItem({ marker: `unflushed-${k}`, site: k ? s1 : s2, day: DAY_A, at: [9, k] })
      await client.send(item.body)
      expected.push(item.expected!)
    }
    child.child.kill('SIGKILL')
    await child.exited
    child = await spawnFloe(env)
    await clientFor(child.base).flush()
    await expectExactlyOnce()
    child.child.kill('SIGTERM')
    expect(await child.exited).toBe(0)
  })
})

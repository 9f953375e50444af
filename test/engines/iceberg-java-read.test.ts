/**
 * Apache Iceberg Java (iceberg-core/-parquet/-data, the reference implementation) reads Floe's
 * tables through the JDBC catalog Floe writes, and through Floe's own REST endpoint:
 * - a full `IcebergGenerics` scan of `pa_events` returns exactly the events sent, value by value,
 *   and `pa_sessions` the session rows (both also equal icebird's independent scan);
 * - `planFiles()` with an `event_time` day and `site_id` filter prunes to exactly the files of
 *   that partition;
 * - every data file's manifest metrics equal what Java computes from the same Parquet footer under
 *   the table's metrics config (`ParquetUtil.fileMetrics`), i.e. what Java would have written;
 * - the dead-letter table `pa_rejected` (events Floe refused) loads, scans and has Java's metrics.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { installFetchShim, metadataLocation, readWithIcebird } from '../e2e/readback.ts'
import {
  buildIcebergJava,
  linesOf,
  runIcebergJava,
  type JavaCatalog,
  type JavaLine,
} from './support/java-iceberg.ts'
import {
  CATALOG_NAME,
  DAY_A,
  DAY_B,
  DAY_EMPTY,
  NAMESPACE,
  READ_TOKEN,
  knownRounds,
  sendRound,
  startFloe,
  type ExpectedEvent,
  type FloeFixture,
} from './support/floe-fixture.ts'
import { expectEventsEqual, expectRowsEqualIcebird, fileCounts } from './support/java-checks.ts'

let floe: FloeFixture
let jdbc: JavaCatalog
let expected: ExpectedEvent[] = []
/** Per flush, the partitions (day|site) it wrote events to: one data file each. */
const flushedPartitions: Set<string>[] = []

beforeAll(async () => {
  // Maven runs while Floe starts and takes the events.
  const build = buildIcebergJava()
  installFetchShim() // icebird reads file:// locations through it
  floe = await startFloe({ catalogType: 'jdbc', dbPrefix: 'floe_engines_java' })
  for (const round of knownRounds(floe.sites)) {
    const sent = await sendRound(floe, round)
    expected.push(...sent)
    flushedPartitions.push(new Set(sent.map((e) => `${e.day}|${e.site_id}`)))
  }
  // Two refused events of a known site: they land in pa_rejected (a commit of that table only).
  for (const screen of [42, 43]) {
    const res = await fetch(`${floe.base}/api/send`, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        'x-forwarded-for': '203.0.113.50',
        'user-agent': 'engines',
      },
      body: JSON.stringify({ type: 'event', payload: { website: floe.sites[0], url: '/refused', screen } }),
    })
    expect(res.status).toBe(400)
  }
  await floe.flush()
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
  await floe?.close()
})

describe('Iceberg Java on the JDBC catalog Floe writes', () => {
  let lines: JavaLine[]
  beforeAll(async () => {
    lines = await runIcebergJava(jdbc, [
      { op: 'info', table: 'pa_events' },
      { op: 'info', table: 'pa_sessions' },
      { op: 'scan', table: 'pa_events' },
      { op: 'scan', table: 'pa_sessions' },
      { op: 'metrics', table: 'pa_events' },
      { op: 'metrics', table: 'pa_sessions' },
      { op: 'info', table: 'pa_rejected' },
      { op: 'scan', table: 'pa_rejected' },
      { op: 'metrics', table: 'pa_rejected' },
    ])
  })

  it('reads pa_rejected: the refused events with their reason, no IP, and Java-equal metrics', () => {
    const info = linesOf(lines, 'info').find((l) => String(l.table).endsWith('.pa_rejected'))!
    expect(JSON.parse(info.spec as string).fields.map((f: { transform: string }) => f.transform)).toEqual([
      'day',
      'identity',
    ])
    const rows = linesOf(lines, 'row', 'pa_rejected').map((l) => l.row as Record<string, unknown>)
    expect(rows).toHaveLength(2)
    for (const r of rows) {
      expect(r).toMatchObject({
        site_id: floe.sites[0],
        endpoint: '/api/send',
        reason: 'invalid',
        field: 'payload.screen',
      })
      expect(JSON.stringify(r)).not.toContain('203.0.113.50')
    }
    const files = linesOf(lines, 'metrics').filter((f) => String(f.table).endsWith('pa_rejected'))
    expect(files).toHaveLength(1)
    expect(files[0].diffs).toEqual([])
  })

  it('loads pa_events and pa_sessions (format v2, Floe schema and spec)', () => {
    const [events, sessions] = linesOf(lines, 'info')
    expect(events.table).toBe(`${CATALOG_NAME}.${NAMESPACE}.pa_events`)
    expect(sessions.table).toBe(`${CATALOG_NAME}.${NAMESPACE}.pa_sessions`)
    expect(events.location).toBe(`file://${floe.warehouse}/${NAMESPACE}/pa_events`)
    expect(JSON.parse(events.spec as string).fields.map((f: { transform: string }) => f.transform)).toEqual([
      'day',
      'identity',
    ])
    // One Floe append per flush, each with Floe's recovery markers in its summary.
    const snapshots = events.snapshots as { operation: string; summary: Record<string, string> }[]
    expect(snapshots.map((s) => s.operation)).toEqual(['append', 'append'])
    for (const s of snapshots) expect(Object.keys(s.summary)).toContain('floe.wal-seq')
  })

  it('a full IcebergGenerics scan of pa_events returns exactly the events sent, value by value', async () => {
    const rows = linesOf(lines, 'row', 'pa_events').map((l) => l.row as Record<string, unknown>)
    expectEventsEqual(rows, expected)
    await expectRowsEqualIcebird(
      rows,
      await readWithIcebird(await metadataLocation(floe.databaseUrl, 'pa_events')),
    )
  })

  it('a full scan of pa_sessions returns one row per new session plus the identify row', async () => {
    const events = linesOf(lines, 'row', 'pa_events').map((l) => l.row as Record<string, unknown>)
    const sessions = linesOf(lines, 'row', 'pa_sessions').map((l) => l.row as Record<string, unknown>)
    const identified = sessions.filter((s) => s.session_data !== null)
    expect(identified).toHaveLength(1)
    expect(identified[0]).toMatchObject({
      site_id: floe.sites[1],
      distinct_id: 'user-ß',
      session_data: { name: 'Zoë', plan: 'team' },
    })
    // Every session of pa_events has exactly one created row, unless the identify saw it first
    // (then the identify row is its first row); nothing else is in the table.
    const eventSessions = new Set(events.map((e) => e.session_id))
    const created = sessions.filter((s) => s.session_data === null).map((s) => s.session_id)
    expect(new Set(created).size).toBe(created.length)
    expect(new Set([...created, identified[0].session_id])).toEqual(
      new Set([...eventSessions, identified[0].session_id]),
    )
    await expectRowsEqualIcebird(
      sessions,
      await readWithIcebird(await metadataLocation(floe.databaseUrl, 'pa_sessions')),
    )
  })

  it('every manifest entry carries the metrics Java computes from the same Parquet footer', () => {
    const files = linesOf(lines, 'metrics')
    // pa_events: 2 flushes × their partitions; pa_sessions: per flush and day.
    expect(files.filter((f) => String(f.table).endsWith('pa_events'))).toHaveLength(
      flushedPartitions.reduce((n, p) => n + p.size, 0),
    )
    const diffs = files.flatMap((f) =>
      (f.diffs as Record<string, unknown>[]).map((d) => ({
        file: String(f.path).split('/').slice(-3).join('/'),
        ...d,
      })),
    )
    expect(diffs).toEqual([])
    for (const f of files) expect(f.columns).toBeGreaterThan(0)
  })

  it('planFiles() with event_time day and site_id filters prunes to exactly that partition', async () => {
    const [s1, s2] = floe.sites
    const plans = await runIcebergJava(jdbc, [
      { op: 'plan', table: 'pa_events', day: DAY_A, site: s1 },
      { op: 'plan', table: 'pa_events', day: DAY_B, site: s2 },
      { op: 'plan', table: 'pa_events', day: DAY_A },
      { op: 'plan', table: 'pa_events', site: s2 },
      { op: 'plan', table: 'pa_events', day: DAY_EMPTY },
      { op: 'plan', table: 'pa_events' },
      { op: 'plan', table: 'pa_sessions', day: DAY_A, column: 'created_at' },
    ])
    const got = linesOf(plans, 'plan').map((p) => ({ count: p.count, records: p.records }))
    const want = (day?: string, site?: string) => ({
      count: fileCounts(flushedPartitions, day, site),
      records: expected.filter((e) => (!day || e.day === day) && (!site || e.site_id === site)).length,
    })
    expect(got.slice(0, 6)).toEqual([
      want(DAY_A, s1),
      want(DAY_B, s2),
      want(DAY_A),
      want(undefined, s2),
      { count: 0, records: 0 },
      want(),
    ])
    // The pruned plans name only files under their partition's folder.
    const first = linesOf(plans, 'plan')[0].files as { path: string }[]
    for (const f of first) expect(f.path).toContain(`event_time_day=${DAY_A}/site_id=${s1}/`)
    // pa_sessions is partitioned by day(created_at): day A's files only (the sessions' first events).
    const sessionsDayA = linesOf(plans, 'plan')[6].files as { path: string }[]
    expect(sessionsDayA.length).toBeGreaterThan(0)
    for (const f of sessionsDayA) expect(f.path).toContain(`created_at_day=${DAY_A}/`)
  })
})

describe("Iceberg Java's RESTCatalog on Floe's REST endpoint", () => {
  it('scans the same rows with the read token', async () => {
    const rest: JavaCatalog = {
      type: 'rest',
      name: 'floe_rest',
      namespace: NAMESPACE,
      properties: { uri: `${floe.base}/iceberg`, token: READ_TOKEN },
    }
    const lines = await runIcebergJava(rest, [
      { op: 'scan', table: 'pa_events' },
      { op: 'scan', table: 'pa_sessions' },
      { op: 'plan', table: 'pa_events', day: DAY_B, site: floe.sites[0] },
    ])
    expectEventsEqual(
      linesOf(lines, 'row', 'pa_events').map((l) => l.row as Record<string, unknown>),
      expected,
    )
    const sessions = linesOf(lines, 'row', 'pa_sessions')
    expect(sessions.length).toBeGreaterThan(1)
    expect(linesOf(lines, 'plan')[0].count).toBe(fileCounts(flushedPartitions, DAY_B, floe.sites[0]))
  })

  it('is refused without the token', async () => {
    const rest: JavaCatalog = {
      type: 'rest',
      name: 'floe_rest',
      namespace: NAMESPACE,
      properties: { uri: `${floe.base}/iceberg` },
    }
    await expect(runIcebergJava(rest, [{ op: 'info', table: 'pa_events' }])).rejects.toThrow(
      /NotAuthorized|401|Unauthorized/i,
    )
  })
})

describe("Iceberg Java's HadoopCatalog on a hadoop-type Floe table", () => {
  let hadoop: FloeFixture | undefined
  afterAll(async () => {
    await hadoop?.close()
  })

  it('scans exactly the events sent, prunes by partition, and finds the metrics Java computes', async () => {
    hadoop = await startFloe({ catalogType: 'hadoop', dbPrefix: 'floe_engines_java_hadoop' })
    const sent: ExpectedEvent[] = []
    const flushed: Set<string>[] = []
    for (const round of knownRounds(hadoop.sites)) {
      const r = await sendRound(hadoop, round)
      sent.push(...r)
      flushed.push(new Set(r.map((e) => `${e.day}|${e.site_id}`)))
    }
    const catalog: JavaCatalog = {
      type: 'hadoop',
      name: 'floe_hadoop',
      namespace: NAMESPACE,
      properties: { warehouse: `file://${hadoop.warehouse}` },
    }
    const lines = await runIcebergJava(catalog, [
      { op: 'info', table: 'pa_events' },
      { op: 'scan', table: 'pa_events' },
      { op: 'scan', table: 'pa_sessions' },
      { op: 'plan', table: 'pa_events', day: DAY_A, site: hadoop.sites[1] },
      { op: 'metrics', table: 'pa_events' },
      { op: 'metrics', table: 'pa_sessions' },
    ])
    // HadoopCatalog found v<N>.metadata.json through version-hint.text: Floe's two appends.
    expect((linesOf(lines, 'info')[0].snapshots as unknown[]).length).toBe(2)
    expectEventsEqual(
      linesOf(lines, 'row', 'pa_events').map((l) => l.row as Record<string, unknown>),
      sent,
    )
    expect(linesOf(lines, 'row', 'pa_sessions').length).toBeGreaterThan(1)
    expect(linesOf(lines, 'plan')[0].count).toBe(fileCounts(flushed, DAY_A, hadoop.sites[1]))
    const diffs = linesOf(lines, 'metrics').flatMap((f) => f.diffs as unknown[])
    expect(linesOf(lines, 'metrics').length).toBeGreaterThan(0)
    expect(diffs).toEqual([])
  })
})

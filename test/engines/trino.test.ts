/**
 * Trino (from Maven Central, see support/trino-install.ts) reads, queries and maintains the tables
 * that real Floe wrote: the Iceberg connector on (a) the shared Postgres JDBC catalog and (b)
 * Floe's REST endpoint with its read token, both over the S3-protocol test server (s3rver).
 *
 * Every dev/queries/*.sql and the Trino sessions view of dev/sessions-view.sql run as shipped,
 * and their results are checked against what was sent; `$snapshots`, `$files` and `$partitions`
 * are checked against Floe's flush reports; `optimize` and `expire_snapshots` run on Floe's table,
 * Floe appends again, and Trino (both catalogs) and icebird see every event exactly once.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { metadataLocation, queryWithDuckDB, readWithIcebird } from '../e2e/readback.ts'
import { duckdbSessionsQuery } from '../support/sessions-view.ts'
import {
  CATALOG_NAME,
  READ_TOKEN,
  countBy,
  dayOf,
  distinctBy,
  expectedSessions,
  startFloeWriter,
  type FloeWriter,
  type SentEvent,
} from './support/spark-trino-load.ts'
import { startTrino, type TrinoServer } from './support/trino-server.ts'
import { devQueries, inCatalog, trinoSessionsQuery, trinoSessionsView } from './support/trino-sql.ts'

let floe: FloeWriter
let trino: TrinoServer
const snapshotIds = new Set<string>()
/** The view dev/sessions-view.sql creates. */
const sessionsRelation = 'iceberg.analytics.pa_sessions_latest'

const EVENTS = 'iceberg.analytics.pa_events'
const q = (sql: string) => trino.client.objects(sql)
const byKey = <T extends Record<string, unknown>>(rows: T[], keys: string[]) =>
  [...rows].sort((a, b) => {
    const ka = keys.map((k) => String(a[k])).join('|')
    const kb = keys.map((k) => String(b[k])).join('|')
    return ka < kb ? -1 : ka > kb ? 1 : 0
  })

function s3Properties(): Record<string, string> {
  const s3 = floe.services.s3
  return {
    'fs.native-s3.enabled': 'true',
    's3.endpoint': s3.endpoint,
    's3.region': 'us-east-1',
    's3.path-style-access': 'true',
    's3.aws-access-key': s3.accessKeyId,
    's3.aws-secret-key': s3.secretAccessKey,
  }
}

/** The JDBC catalog URL of the test database (trust auth: no password). */
const jdbcUrl = (url: string) => {
  const u = new URL(url)
  return `jdbc:postgresql://${u.host}${u.pathname}`
}

async function flush(): Promise<void> {
  const report = await floe.flush()
  for (const id of report.pa_events.snapshotIds) snapshotIds.add(id)
}

beforeAll(async () => {
  floe = await startFloeWriter({ storage: 's3' })
  // Two flushes: two files per partition, so that Trino's optimize has something to compact.
  await floe.sendRound('r1')
  await flush()
  await floe.sendRound('r2')
  await flush()
  trino = await startTrino({
    iceberg: {
      'connector.name': 'iceberg',
      'iceberg.catalog.type': 'jdbc',
      'iceberg.jdbc-catalog.driver-class': 'org.postgresql.Driver',
      'iceberg.jdbc-catalog.connection-url': jdbcUrl(floe.services.db.url),
      'iceberg.jdbc-catalog.connection-user': 'postgres',
      'iceberg.jdbc-catalog.catalog-name': CATALOG_NAME,
      'iceberg.jdbc-catalog.default-warehouse-dir': floe.warehouse,
      // The test expires every snapshot but the current one.
      'iceberg.expire-snapshots.min-retention': '0s',
      ...s3Properties(),
    },
    floe_rest: {
      'connector.name': 'iceberg',
      'iceberg.catalog.type': 'rest',
      'iceberg.rest-catalog.uri': `${floe.base}/iceberg`,
      'iceberg.rest-catalog.security': 'OAUTH2',
      'iceberg.rest-catalog.oauth2.token': READ_TOKEN,
      'iceberg.rest-catalog.view-endpoints-enabled': 'false',
      'iceberg.security': 'read_only',
      ...s3Properties(),
    },
  })
})

afterAll(async () => {
  await trino?.stop()
  await floe?.close()
})

/** Markers of every row of pa_events in `catalog`, sorted; each must be there exactly once. */
async function markers(catalog: string): Promise<string[]> {
  const rows = await q(`SELECT event_data['marker'] AS m FROM ${catalog}.analytics.pa_events`)
  return rows.map((r) => r.m as string).sort()
}
const sentMarkers = () => floe.sent.map((e) => e.marker).sort()

/** pageviews_per_day's expected rows, from what was sent (visits from an independent reader). */
async function expectedPageviewsPerDay(): Promise<Record<string, unknown>[]> {
  const pv = floe.sent.filter((e) => e.type === 1)
  const key = (e: SentEvent) => `${e.siteId}|${e.day}`
  const counts = countBy(pv, key)
  const visitors = distinctBy(pv, key, (e) => e.ip)
  // Visit ids are Floe's own (hour-salted uuids); count them with icebird, not with Floe.
  const rows = await readWithIcebird(await metadataLocation(floe.services.db.url, 'pa_events'))
  const visits = distinctBy(
    rows.filter((r) => r.event_type === 1),
    (r) => `${r.site_id}|${dayOf(r.event_time)}`,
    (r) => String(r.visit_id),
  )
  return [...counts].map(([k, n]) => {
    const [site_id, day] = k.split('|')
    return { site_id, day, pageviews: n, visitors: visitors.get(k), visits: visits.get(k) }
  })
}

const sessions = () => expectedSessions(floe)

describe('Trino on the JDBC catalog', () => {
  it('creates the sessions view of dev/sessions-view.sql and reads it', async () => {
    // An Iceberg view in the JDBC catalog (its metadata file under the warehouse).
    await trino.client.query(trinoSessionsView())
    const rows = await q(`SELECT * FROM ${sessionsRelation} v`)
    // The same rule in DuckDB over the same table: the same sessions, ids and merged data.
    const duck = await queryWithDuckDB(
      await metadataLocation(floe.services.db.url, 'pa_sessions'),
      duckdbSessionsQuery('t'),
    )
    expect(rows).toHaveLength(sessions().length)
    expect(rows.map((r) => r.session_id).sort()).toEqual(duck.map((r) => r.session_id).sort())
    const identified = byKey(
      rows.filter((r) => r.distinct_id !== null),
      ['distinct_id'],
    )
    expect(identified.map((r) => [r.site_id, r.distinct_id, r.session_data])).toEqual(
      byKey(
        floe.sites.map((s) => ({ site_id: s.id, distinct_id: `user-${s.hostname}` })),
        ['distinct_id'],
      ).map((s) => [s.site_id, s.distinct_id, { plan: 'pro', round: 'r2' }]),
    )
  })

  it('runs dev/queries/pageviews_per_day.sql: pageviews, visitors and visits per site and day', async () => {
    const rows = await q(devQueries().pageviews_per_day)
    expect(byKey(rows, ['site_id', 'day'])).toEqual(
      byKey(await expectedPageviewsPerDay(), ['site_id', 'day']),
    )
  })

  it('runs dev/queries/top_pages.sql: pageviews and visitors per site, host and path', async () => {
    const rows = await q(devQueries().top_pages)
    const pv = floe.sent.filter((e) => e.type === 1)
    const key = (e: SentEvent) => `${e.siteId}|${e.hostname}|${e.path}`
    const visitors = distinctBy(pv, key, (e) => e.ip)
    const expected = [...countBy(pv, key)].map(([k, n]) => {
      const [site_id, hostname, url_path] = k.split('|')
      return { site_id, hostname, url_path, pageviews: n, visitors: visitors.get(k) }
    })
    expect(byKey(rows, ['site_id', 'url_path'])).toEqual(byKey(expected, ['site_id', 'url_path']))
    // ORDER BY pageviews DESC as written.
    const counts = rows.map((r) => r.pageviews as number)
    expect(counts).toEqual([...counts].sort((a, b) => b - a))
  })

  it('runs dev/queries/sessions_deduplicated.sql and sessions_per_day_by_country.sql over the view', async () => {
    // As shipped: both read the view created above.
    const dedup = await q(devQueries().sessions_deduplicated)
    expect(dedup).toHaveLength(sessions().length)
    expect(new Set(dedup.map((r) => r.session_id)).size).toBe(dedup.length)

    const perDay = await q(devQueries().sessions_per_day_by_country)
    const expected = [...countBy(sessions(), (s) => `${s.siteId}|${s.firstDay}`)].map(([k, n]) => {
      const [site_id, day] = k.split('|')
      // The test addresses are TEST-NET-2 and Floe runs without a GeoIP database here.
      return { site_id, day, country: 'unknown', sessions: n }
    })
    expect(byKey(perDay, ['site_id', 'day'])).toEqual(byKey(expected, ['site_id', 'day']))
  })

  it('reads $snapshots, $files and $partitions as Floe committed them', async () => {
    const snaps = await q(
      `SELECT CAST(snapshot_id AS varchar) AS id, operation, summary['floe.commit-id'] AS commit_id FROM "pa_events$snapshots"`.replace(
        '"pa_events$snapshots"',
        'iceberg.analytics."pa_events$snapshots"',
      ),
    )
    expect(snaps.map((s) => s.id).sort()).toEqual([...snapshotIds].sort())
    expect(snaps.every((s) => s.operation === 'append' && typeof s.commit_id === 'string')).toBe(true)

    const files = await q(
      `SELECT file_path, record_count, file_format FROM iceberg.analytics."pa_events$files"`,
    )
    // Two flushes: one Parquet file per partition (site × day) each.
    const partitions = countBy(floe.sent, (e) => `${e.siteId}|${e.day}`)
    expect(files).toHaveLength(2 * partitions.size)
    expect(files.reduce((n, f) => n + (f.record_count as number), 0)).toBe(floe.sent.length)
    expect(files.every((f) => f.file_format === 'PARQUET')).toBe(true)
    expect(
      files.every((f) => String(f.file_path).startsWith(`${floe.warehouse}/analytics/pa_events/data/`)),
    ).toBe(true)

    const parts = await q(
      `SELECT CAST(partition.event_time_day AS varchar) AS day, partition.site_id AS site_id, record_count, file_count
       FROM iceberg.analytics."pa_events$partitions"`,
    )
    expect(byKey(parts, ['site_id', 'day'])).toEqual(
      byKey(
        [...partitions].map(([k, n]) => {
          const [site_id, day] = k.split('|')
          return { day, site_id, record_count: n, file_count: 2 }
        }),
        ['site_id', 'day'],
      ),
    )
  })

  it('prunes a one-day, one-site query to that partition', async () => {
    const e = floe.sent[0]
    const rows = await q(
      `SELECT count(*) AS n FROM ${EVENTS} WHERE site_id = '${e.siteId}' AND event_time >= TIMESTAMP '${e.day} 00:00:00 UTC' AND event_time < TIMESTAMP '${e.day} 00:00:00 UTC' + INTERVAL '1' DAY`,
    )
    expect(rows[0].n).toBe(floe.sent.filter((x) => x.siteId === e.siteId && x.day === e.day).length)
  })
})

describe("Trino on Floe's REST endpoint (read token)", () => {
  it('runs the events queries with the same results as through the JDBC catalog', async () => {
    for (const name of ['pageviews_per_day', 'top_pages']) {
      const viaJdbc = await q(devQueries()[name])
      const viaRest = await q(inCatalog(devQueries()[name], 'floe_rest'))
      expect(byKey(viaRest, ['site_id', 'url_path', 'day'])).toEqual(
        byKey(viaJdbc, ['site_id', 'url_path', 'day']),
      )
    }
    expect(await markers('floe_rest')).toEqual(sentMarkers())
  })

  it("runs the sessions view's query and reads $snapshots", async () => {
    const rows = await q(`SELECT * FROM (${inCatalog(trinoSessionsQuery(), 'floe_rest')}) v`)
    expect(rows).toHaveLength(sessions().length)
    const snaps = await q(
      `SELECT CAST(snapshot_id AS varchar) AS id FROM floe_rest.analytics."pa_events$snapshots"`,
    )
    expect(snaps.map((s) => s.id).sort()).toEqual([...snapshotIds].sort())
  })

  it('refuses to write through the read-only catalog', async () => {
    await expect(
      trino.client.query('ALTER TABLE floe_rest.analytics.pa_events EXECUTE optimize'),
    ).rejects.toThrow(/denied|read.only|not supported/i)
  })
})

describe('Trino maintains the tables while Floe keeps appending', () => {
  it('optimize and expire_snapshots, then Floe appends and every event is there exactly once', async () => {
    expect(await markers('iceberg')).toEqual(sentMarkers())
    await trino.client.query(`ALTER TABLE ${EVENTS} EXECUTE optimize`)
    await trino.client.query(`ALTER TABLE iceberg.analytics.pa_sessions EXECUTE optimize`)
    await trino.client.query(`ALTER TABLE ${EVENTS} EXECUTE expire_snapshots(retention_threshold => '0s')`)
    const afterExpire = await q(`SELECT operation FROM iceberg.analytics."pa_events$snapshots"`)
    expect(afterExpire.map((s) => s.operation)).toEqual(['replace'])
    expect(await markers('iceberg')).toEqual(sentMarkers())

    // Floe commits on top of Trino's snapshot (its reload sees the new parent).
    await floe.sendRound('r3')
    await flush()
    await floe.sendRound('r4')
    await flush()
    expect(await markers('iceberg')).toEqual(sentMarkers())
    expect(await markers('floe_rest')).toEqual(sentMarkers())
    const icebird = await readWithIcebird(await metadataLocation(floe.services.db.url, 'pa_events'))
    expect(icebird.map((r) => (r.event_data as Record<string, string>).marker).sort()).toEqual(sentMarkers())

    const snaps = await q(
      `SELECT operation FROM iceberg.analytics."pa_events$snapshots" ORDER BY committed_at`,
    )
    expect(snaps.map((s) => s.operation)).toEqual(['replace', 'append', 'append'])
    // The shipped queries still agree with what was sent, over all three rounds.
    const rows = await q(devQueries().pageviews_per_day)
    expect(byKey(rows, ['site_id', 'day'])).toEqual(
      byKey(await expectedPageviewsPerDay(), ['site_id', 'day']),
    )
    const latest = await q(`SELECT * FROM ${sessionsRelation} v`)
    expect(latest).toHaveLength(sessions().length)
  })
})

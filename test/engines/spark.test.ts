/**
 * Spark 4 (`spark-sql_2.13`, `local[2]`) with the Iceberg Spark runtime reads, queries and
 * maintains the tables that real Floe wrote, on the shared Postgres JDBC catalog (Floe writes a
 * local folder warehouse here, read by Spark's Hadoop file IO).
 *
 * Counts per day and site equal what was sent; the Spark version of dev/sessions-view.sql runs
 * and agrees with DuckDB's version over the same table; `rewrite_data_files`, `rewrite_manifests`,
 * `expire_snapshots` and `remove_orphan_files` run while Floe keeps appending and flushing, and
 * afterwards Spark and icebird both see every event exactly once.
 */
import { readFileSync, utimesSync, writeFileSync, existsSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import path from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { metadataLocation, queryWithDuckDB, readWithIcebird } from '../e2e/readback.ts'
import { duckdbSessionsQuery } from '../support/sessions-view.ts'
import { startSpark, type SparkSql } from './support/spark-session.ts'
import {
  CATALOG_NAME,
  countBy,
  expectedSessions,
  startFloeWriter,
  type FloeWriter,
} from './support/spark-trino-load.ts'

let floe: FloeWriter
let spark: SparkSql
const EVENTS = `${CATALOG_NAME}.analytics.pa_events`

/** The Spark `CREATE OR REPLACE VIEW …` of dev/sessions-view.sql, comments removed. */
function sparkSessionsView(): string {
  const sql = readFileSync('dev/sessions-view.sql', 'utf8')
  const section = sql.slice(sql.indexOf('-- ─── Spark'), sql.indexOf('-- ─── DuckDB'))
  return section
    .split('\n')
    .filter((l) => !l.trimStart().startsWith('--'))
    .join('\n')
    .trim()
    .replace(/;\s*$/, '')
}

const jdbcUrl = (url: string) => {
  const u = new URL(url)
  return `jdbc:postgresql://${u.host}${u.pathname}`
}

beforeAll(async () => {
  floe = await startFloeWriter({ storage: 'local' })
  await floe.sendRound('r1')
  await floe.flush()
  await floe.sendRound('r2')
  await floe.flush()
  const catalog = `spark.sql.catalog.${CATALOG_NAME}`
  spark = await startSpark({
    'spark.sql.extensions': 'org.apache.iceberg.spark.extensions.IcebergSparkSessionExtensions',
    [catalog]: 'org.apache.iceberg.spark.SparkCatalog',
    [`${catalog}.type`]: 'jdbc',
    [`${catalog}.uri`]: jdbcUrl(floe.services.db.url),
    [`${catalog}.jdbc.user`]: 'postgres',
    [`${catalog}.jdbc.schema-version`]: 'V1',
    [`${catalog}.warehouse`]: floe.warehouse,
    // Floe commits between statements: read the catalog's current pointer every time.
    [`${catalog}.cache-enabled`]: 'false',
  })
})

afterAll(async () => {
  await spark?.stop()
  await floe?.close()
})

const sentMarkers = () => floe.sent.map((e) => e.marker).sort()
async function sparkMarkers(): Promise<string[]> {
  const rows = await spark.sql(`SELECT event_data['marker'] AS m FROM ${EVENTS}`)
  return rows.map((r) => r.m as string).sort()
}

/**
 * icebird's scan of pa_events. Spark (Hadoop paths) writes local locations as `file:/tmp/…`, a
 * valid file URI that the test's fetch shim only knows as `file:///tmp/…`: spelled that way here.
 */
async function icebirdMarkers(): Promise<string[]> {
  const inner = globalThis.fetch
  globalThis.fetch = ((input: string | URL | Request, init?: RequestInit) => {
    const url = typeof input === 'string' ? input : input instanceof URL ? input.href : input.url
    return inner(url.replace(/^file:\/(?!\/)/, 'file:///'), init)
  }) as typeof fetch
  try {
    const location = await metadataLocation(floe.services.db.url, 'pa_events')
    const rows = await readWithIcebird(location.replace(/^file:\/(?!\/)/, 'file:///'))
    return rows.map((r) => (r.event_data as Record<string, string>).marker).sort()
  } finally {
    globalThis.fetch = inner
  }
}

describe(`Spark on the JDBC catalog`, () => {
  it('counts events and pageviews per day and site as sent', async () => {
    expect(spark.version).toMatch(/^4\./)
    const rows = await spark.sql(
      `SELECT site_id, CAST(to_date(event_time) AS STRING) AS day, count(*) AS events,
              count_if(event_type = 1) AS pageviews, count_if(event_type = 2) AS custom
       FROM ${EVENTS} GROUP BY 1, 2 ORDER BY 1, 2`,
    )
    const key = (e: { siteId: string; day: string }) => `${e.siteId}|${e.day}`
    const all = countBy(floe.sent, key)
    const pv = countBy(
      floe.sent.filter((e) => e.type === 1),
      key,
    )
    const expected = [...all.keys()].sort().map((k) => {
      const [site_id, day] = k.split('|')
      return { site_id, day, events: all.get(k), pageviews: pv.get(k), custom: all.get(k)! - pv.get(k)! }
    })
    expect(rows).toEqual(expected)
    expect(await sparkMarkers()).toEqual(sentMarkers())
  })

  it('runs the Spark version of dev/sessions-view.sql and agrees with DuckDB', async () => {
    await spark.sql(sparkSessionsView())
    const rows = await spark.sql(`SELECT * FROM ${CATALOG_NAME}.analytics.pa_sessions_latest`)
    const duck = await queryWithDuckDB(
      await metadataLocation(floe.services.db.url, 'pa_sessions'),
      duckdbSessionsQuery('t'),
    )
    expect(rows).toHaveLength(expectedSessions(floe).length)
    expect(rows.map((r) => r.session_id).sort()).toEqual(duck.map((r) => r.session_id).sort())
    const identified = rows
      .filter((r) => r.distinct_id !== null)
      .map((r) => [r.site_id, r.distinct_id, r.session_data])
      .sort((a, b) => String(a[1]).localeCompare(String(b[1])))
    expect(identified).toEqual(
      floe.sites
        .map((s) => [s.id, `user-${s.hostname}`, { plan: 'pro', round: 'r2' }])
        .sort((a, b) => String(a[1]).localeCompare(String(b[1]))),
    )
    // created_at is the earliest row's, per session, in both engines.
    const created = new Map(duck.map((r) => [r.session_id, new Date(r.created_at as string).getTime()]))
    for (const r of rows) expect(new Date(r.created_at as string).getTime()).toBe(created.get(r.session_id))
  })
})

/** Runs a maintenance call again (up to 3 times) when Iceberg refused it for a concurrent change. */
async function retryOnConflict<T>(call: () => Promise<T>): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await call()
    } catch (err) {
      if (attempt >= 3 || !/ValidationException|CommitFailedException/.test(String(err))) throw err
      console.log(`spark maintenance refused for a concurrent change (attempt ${attempt}), running it again`)
    }
  }
}

describe('Spark maintains the tables while Floe keeps appending', () => {
  it('rewrite_data_files, rewrite_manifests, expire_snapshots, remove_orphan_files: every event once', async () => {
    const tableDir = path.join(fileURLToPath(floe.warehouse), 'analytics', 'pa_events')
    // An orphan as a crashed writer leaves one: a data file no snapshot references, 10 days old.
    const orphan = path.join(tableDir, 'data', 'orphan-from-a-crashed-writer.parquet')
    writeFileSync(orphan, 'not referenced by any snapshot')
    const tenDaysAgo = new Date(Date.now() - 10 * 86_400_000)
    utimesSync(orphan, tenDaysAgo, tenDaysAgo)

    // Floe keeps receiving and committing while Spark maintains the table: a commit every ~0.5 s,
    // 60 times Floe's default 30 s flush. Back to back (several commits a second on an idle
    // machine) Floe's appends can win every one of Spark's commit retries, and Spark then gives up
    // with CommitFailedException, as it does against any committer that fast.
    let appending = true
    let rounds = 0
    const appender = (async () => {
      while (appending) {
        await floe.sendRound(`c${rounds++}`)
        await floe.flush()
        await new Promise((r) => setTimeout(r, 500))
      }
    })()
    try {
      // Two flushes so far: two small files per partition, compacted into one each (Iceberg's
      // default waits for 5 files per group).
      const [rewritten] = await retryOnConflict(() =>
        spark.sql(
          `CALL ${CATALOG_NAME}.system.rewrite_data_files(table => 'analytics.pa_events', options => map('min-input-files', '2'))`,
        ),
      )
      expect(Number(rewritten.rewritten_data_files_count)).toBeGreaterThan(0)
      await retryOnConflict(() =>
        spark.sql(
          `CALL ${CATALOG_NAME}.system.rewrite_data_files(table => 'analytics.pa_sessions', options => map('min-input-files', '2'))`,
        ),
      )
      // Floe's appends merge manifests as Java's MergeAppend does (at 100 manifests by default), so
      // on a slow machine an append can merge the very manifests Spark is rewriting. Iceberg then
      // refuses Spark's commit cleanly (ValidationException: "Deleted manifest … could not be found
      // in the latest snapshot") and nothing changes; an operator runs it again, and so does this test.
      const [manifests] = await retryOnConflict(() =>
        spark.sql(`CALL ${CATALOG_NAME}.system.rewrite_manifests('analytics.pa_events')`),
      )
      expect(Number(manifests.rewritten_manifests_count)).toBeGreaterThan(0)
      const now = new Date().toISOString().replace('T', ' ').replace('Z', '')
      const [expired] = await spark.sql(
        `CALL ${CATALOG_NAME}.system.expire_snapshots(table => 'analytics.pa_events', older_than => TIMESTAMP '${now}', retain_last => 1)`,
      )
      expect(Number(expired.deleted_manifest_lists_count)).toBeGreaterThan(0)
      // Default older_than (3 days): Floe's files in flight are younger and stay.
      const orphans = await spark.sql(
        `CALL ${CATALOG_NAME}.system.remove_orphan_files(table => 'analytics.pa_events')`,
      )
      expect(orphans.map((o) => String(o.orphan_file_location))).toEqual([`file:${orphan}`])
      expect(existsSync(orphan)).toBe(false)
    } finally {
      appending = false
      await appender
    }
    expect(rounds).toBeGreaterThan(0)
    await floe.flush()

    expect(await sparkMarkers()).toEqual(sentMarkers())
    expect(await icebirdMarkers()).toEqual(sentMarkers())
    const ops = await spark.sql(`SELECT operation FROM ${EVENTS}.snapshots`)
    expect(ops.length).toBeGreaterThan(0)
    const sessions = await spark.sql(`SELECT * FROM ${CATALOG_NAME}.analytics.pa_sessions_latest`)
    expect(sessions).toHaveLength(expectedSessions(floe).length)
  })

  it("parses the created_by of Floe's Parquet footers (else Java ignores their string statistics)", () => {
    // parquet-mr logs this once per unparseable created_by, then drops binary min/max statistics.
    expect(readFileSync(spark.logFile, 'utf8')).not.toMatch(/Could not parse created_by/)
  })
})

/**
 * The /v1 SQL on hand-made rows with the optional columns of the `/v1/events` ingest
 * (`sample_rate`, `campaign_id`), which the tables in the end-to-end test do not have yet: sampled
 * rows are weighted 1 / sample_rate, `campaign` prefers `campaign_id` row by row. Expected numbers
 * are worked out by hand below, not by Floe. Runs the SQL on DuckDB over a relation `events` shaped
 * as the query layer gives it.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { DuckDBInstance, type DuckDBConnection } from '@duckdb/node-api'
import { campaignsSql, metricsSql, overviewSql, pagesSql, type V1Sql } from '../../src/report/v1/sql.ts'

let db: DuckDBInstance
let c: DuckDBConnection

// visit A (session s1, sampled at 0.5): /a then /b, 90 s apart → 2 pageviews of weight 2
// visit B (session s1, sampled at 0.5): /a → a bounce of weight 2
// visit C (session s2, not sampled): /a, campaign_id c-1 and utm_campaign utm-x → a bounce
// visit D (session s3, not sampled): /b, utm_campaign utm-x only → a bounce
// plus a custom event in visit A, which no /v1 number counts.
const ROWS = [
  ['s1', 'A', '2026-11-02T10:00:00Z', 1, '/a', null, null, 0.5],
  ['s1', 'A', '2026-11-02T10:01:30Z', 1, '/b', null, null, 0.5],
  ['s1', 'A', '2026-11-02T10:01:40Z', 2, '/b', null, null, 0.5],
  ['s1', 'B', '2026-11-02T13:00:00Z', 1, '/a', null, null, 0.5],
  ['s2', 'C', '2026-11-03T09:00:00Z', 1, '/a', 'utm-x', 'c-1', null],
  ['s3', 'D', '2026-11-03T23:30:00Z', 1, '/b', 'utm-x', null, null],
] as const

async function run(q: V1Sql): Promise<Record<string, unknown>[]> {
  const rows = (await c.runAndReadAll(q.sql, q.params)).getRowObjectsJS()
  return rows.map((r) =>
    Object.fromEntries(Object.entries(r).map(([k, v]) => [k, typeof v === 'bigint' ? Number(v) : v])),
  )
}

beforeAll(async () => {
  db = await DuckDBInstance.create(':memory:')
  c = await db.connect()
  await c.run(`CREATE TABLE raw (session_id VARCHAR, visit_id VARCHAR, event_time TIMESTAMPTZ,
    event_type INTEGER, url_path VARCHAR, utm_campaign VARCHAR, campaign_id VARCHAR, sample_rate DOUBLE)`)
  for (const r of ROWS)
    await c.run(
      `INSERT INTO raw VALUES (${r.map((v) => (v === null ? 'NULL' : typeof v === 'string' ? `'${v}'` : v)).join(', ')})`,
    )
  await c.run('CREATE VIEW events AS SELECT * FROM raw')
})

afterAll(() => {
  c?.closeSync()
  db?.closeSync()
})

describe('/v1 SQL with sampled rows and campaign ids', () => {
  it('overview weighs each sampled row, visit and visitor by 1 / sample_rate', async () => {
    expect(await run(overviewSql())).toEqual([
      // pageviews 2+2+2+1+1; visitors s1 (2) + s2 + s3; visits A (2) + B (2) + C + D;
      // bounces B (2) + C + D; time: visit A lasted 90 s, weight 2.
      { pageviews: 8, unique_visitors: 4, sessions: 6, bounces: 4, total_time: 180 },
    ])
  })

  it('pages count each path on its own', async () => {
    expect(await run(pagesSql({ limit: 10, offset: 0 }))).toEqual([
      { path: '/a', pageviews: 5, unique_visitors: 3, sessions: 5 },
      { path: '/b', pageviews: 3, unique_visitors: 3, sessions: 3 },
    ])
  })

  it('campaigns prefer campaign_id, else utm_campaign, and leave out pageviews with neither', async () => {
    expect(await run(campaignsSql({ limit: 10, offset: 0 }))).toEqual([
      { campaign: 'c-1', pageviews: 1, unique_visitors: 1, sessions: 1, bounces: 1 },
      { campaign: 'utm-x', pageviews: 1, unique_visitors: 1, sessions: 1, bounces: 1 },
    ])
  })

  it('metrics bucket by local day: 23:30 UTC on Nov 3 is Nov 4 in Tokyo', async () => {
    const rows = await run(
      metricsSql({
        interval: 'day',
        timezone: 'Asia/Tokyo',
        metrics: ['pageviews', 'sessions'],
        groupBy: [],
        limit: 10,
      }),
    )
    expect(rows.map((r) => ({ ...r, bucket_ms: new Date(Number(r.bucket_ms)).toISOString() }))).toEqual([
      { bucket_ms: '2026-11-01T15:00:00.000Z', pageviews: 6, sessions: 4 },
      { bucket_ms: '2026-11-02T15:00:00.000Z', pageviews: 1, sessions: 1 },
      { bucket_ms: '2026-11-03T15:00:00.000Z', pageviews: 1, sessions: 1 },
    ])
  })

  it('metrics asks for one row more than the limit (the route reports `truncated`)', async () => {
    const q = metricsSql({
      interval: 'hour',
      timezone: 'UTC',
      metrics: ['pageviews'],
      groupBy: ['path'],
      limit: 2,
    })
    expect(await run(q)).toHaveLength(3)
    expect(q.columns).toEqual(expect.arrayContaining(['url_path', 'sample_rate', 'event_time', 'visit_id']))
  })

  it('reads a table without the optional columns (the query layer gives them as NULL) exactly', async () => {
    await c.run(`CREATE OR REPLACE VIEW events AS SELECT session_id, visit_id, event_time, event_type,
      url_path, utm_campaign, CAST(NULL AS VARCHAR) AS campaign_id, CAST(NULL AS DOUBLE) AS sample_rate FROM raw`)
    expect(await run(overviewSql())).toEqual([
      { pageviews: 5, unique_visitors: 3, sessions: 4, bounces: 3, total_time: 90 },
    ])
    expect((await run(campaignsSql({ limit: 10, offset: 0 }))).map((r) => r.campaign)).toEqual(['utm-x'])
  })
})

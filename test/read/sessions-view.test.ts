/**
 * The session read rule of dev/sessions-view.sql, its DuckDB version run by DuckDB over rows as two
 * Floe processes write them: neither knows the other's identify data, and the view still gives one
 * row per session with both processes' keys.
 */
import { describe, expect, it } from 'vitest'
import { DuckDBInstance } from '@duckdb/node-api'
import { duckdbSessionsQuery } from '../support/sessions-view.ts'

describe('pa_sessions_latest (DuckDB version of dev/sessions-view.sql)', () => {
  it('one row per session: latest attributes, earliest created_at, latest distinct id, data merged per key', async () => {
    const conn = await (await DuckDBInstance.create(':memory:')).connect()
    await conn.run(`CREATE TABLE rows AS SELECT * FROM (VALUES
      -- process A: first sight, then identify {plan}
      ('s1', 'site', TIMESTAMPTZ '2026-01-01 10:00:00+00', TIMESTAMPTZ '2026-01-01 10:00:00+00', 'chrome', 'Linux', NULL::VARCHAR, NULL::MAP(VARCHAR, VARCHAR)),
      ('s1', 'site', TIMESTAMPTZ '2026-01-01 10:00:00+00', TIMESTAMPTZ '2026-01-01 10:01:00+00', 'chrome', 'Linux', 'user-1', MAP {'plan': 'pro'}),
      -- process B (a replica, or A after a restart): first sight again, then identify {seats, plan}
      ('s1', 'site', TIMESTAMPTZ '2026-01-01 10:05:00+00', TIMESTAMPTZ '2026-01-01 10:05:00+00', 'chrome', 'Linux', NULL, NULL),
      ('s1', 'site', TIMESTAMPTZ '2026-01-01 10:05:00+00', TIMESTAMPTZ '2026-01-01 10:09:00+00', 'firefox', 'Linux', NULL, MAP {'seats': '3'}),
      ('s2', 'site', TIMESTAMPTZ '2026-01-01 11:00:00+00', TIMESTAMPTZ '2026-01-01 11:00:00+00', 'safari', 'iOS', NULL, NULL)
    ) t(session_id, site_id, created_at, updated_at, browser, os, distinct_id, session_data)`)
    await conn.run(`CREATE VIEW pa_sessions AS SELECT *, NULL::VARCHAR AS device, NULL::VARCHAR AS screen,
      NULL::VARCHAR AS language, NULL::VARCHAR AS country, NULL::VARCHAR AS region, NULL::VARCHAR AS city FROM rows`)
    const result = await conn.runAndReadAll(
      `SELECT session_id, strftime(created_at, '%H:%M') AS created, strftime(updated_at, '%H:%M') AS updated,
              browser, distinct_id,
              CAST(list_sort(list_transform(map_entries(session_data), e -> e.key || '=' || e.value)) AS VARCHAR) AS data
       FROM (${duckdbSessionsQuery('pa_sessions')}) ORDER BY session_id`,
    )
    expect(result.getRowObjectsJson()).toEqual([
      {
        session_id: 's1',
        created: '10:00',
        updated: '10:09',
        browser: 'firefox',
        distinct_id: 'user-1',
        data: "['plan=pro', 'seats=3']",
      },
      {
        session_id: 's2',
        created: '11:00',
        updated: '11:00',
        browser: 'safari',
        distinct_id: null,
        data: null,
      },
    ])
  })
})

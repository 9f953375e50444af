-- pa_sessions is append-only: Floe writes a row when it first sees a session and again on each
-- update (e.g. identify data). Several Floe processes (replicas, or one after a restart) can each
-- write rows for the same session without knowing the others'. One rule reads them back, the same
-- in every engine below:
--   * attributes (site, browser, os, device, screen, language, geo): the LATEST row by updated_at;
--     ties on updated_at are broken by site_id, then created_at, so every engine picks the same row;
--   * created_at: the EARLIEST created_at of any row of the session;
--   * distinct_id: the latest non-null one;
--   * session_data: PER KEY, the value of the latest row that has the key (a replica that never saw
--     `plan` writes {seats}; the session then has both).
-- The DuckDB version is run by the test suite (test/read/sessions-view.test.ts,
-- test/e2e/send-flush-read.test.ts); the Trino and Spark versions are the same query in their
-- dialects, run by the engines suite (test/engines/trino.test.ts, test/engines/spark.test.ts).
--
-- Replace the catalog/namespace (`iceberg.analytics`, `floe.analytics`) with yours
-- (ICEBERG_CATALOG_NAME / ICEBERG_NAMESPACE).

-- ─── Trino (iceberg connector; catalog "iceberg") ────────────────────────────────────────────────
CREATE OR REPLACE VIEW iceberg.analytics.pa_sessions_latest AS
WITH ranked AS (
  SELECT s.*,
         min(created_at) OVER (PARTITION BY session_id) AS first_created_at,
         row_number() OVER (PARTITION BY session_id ORDER BY updated_at DESC, site_id, created_at) AS rn
  FROM iceberg.analytics.pa_sessions s
),
ids AS (
  SELECT session_id, max_by(distinct_id, updated_at) AS distinct_id
  FROM iceberg.analytics.pa_sessions WHERE distinct_id IS NOT NULL GROUP BY session_id
),
kv AS (
  SELECT s.session_id, e.k, max_by(e.v, s.updated_at) AS v
  FROM iceberg.analytics.pa_sessions s CROSS JOIN UNNEST(s.session_data) AS e (k, v)
  GROUP BY s.session_id, e.k
),
data AS (SELECT session_id, map_agg(k, v) AS session_data FROM kv GROUP BY session_id)
SELECT r.session_id, r.site_id, r.first_created_at AS created_at, r.updated_at, r.browser, r.os,
       r.device, r.screen, r.language, r.country, r.region, r.city, i.distinct_id, d.session_data
FROM ranked r
LEFT JOIN ids i ON i.session_id = r.session_id
LEFT JOIN data d ON d.session_id = r.session_id
WHERE r.rn = 1;

-- ─── Spark SQL (Iceberg Spark runtime; catalog "floe" = spark.sql.catalog.floe) ─────────────────
-- Iceberg >= 1.7 with a REST/JDBC catalog stores this as an Iceberg view; on older versions create
-- it in spark_catalog instead (CREATE OR REPLACE VIEW default.pa_sessions_latest AS ...).
CREATE OR REPLACE VIEW floe.analytics.pa_sessions_latest AS
WITH ranked AS (
  SELECT s.*,
         min(created_at) OVER (PARTITION BY session_id) AS first_created_at,
         row_number() OVER (PARTITION BY session_id ORDER BY updated_at DESC, site_id, created_at) AS rn
  FROM floe.analytics.pa_sessions s
),
ids AS (
  SELECT session_id, max_by(distinct_id, updated_at) AS distinct_id
  FROM floe.analytics.pa_sessions WHERE distinct_id IS NOT NULL GROUP BY session_id
),
kv AS (
  SELECT session_id, k, max_by(v, updated_at) AS v
  FROM floe.analytics.pa_sessions LATERAL VIEW explode(session_data) e AS k, v
  GROUP BY session_id, k
),
data AS (
  SELECT session_id, map_from_entries(collect_list(struct(k, v))) AS session_data
  FROM kv GROUP BY session_id
)
SELECT r.session_id, r.site_id, r.first_created_at AS created_at, r.updated_at, r.browser, r.os,
       r.device, r.screen, r.language, r.country, r.region, r.city, i.distinct_id, d.session_data
FROM ranked r
LEFT JOIN ids i ON i.session_id = r.session_id
LEFT JOIN data d ON d.session_id = r.session_id
WHERE r.rn = 1;

-- ─── DuckDB (pa_sessions = the table, e.g. a view over its Parquet files) ───────────────────────
CREATE OR REPLACE VIEW pa_sessions_latest AS
WITH ranked AS (
  SELECT s.*,
         min(created_at) OVER (PARTITION BY session_id) AS first_created_at,
         row_number() OVER (PARTITION BY session_id ORDER BY updated_at DESC, site_id, created_at) AS rn
  FROM pa_sessions s
),
ids AS (
  SELECT session_id, arg_max(distinct_id, updated_at) AS distinct_id
  FROM pa_sessions WHERE distinct_id IS NOT NULL GROUP BY session_id
),
kv AS (
  SELECT session_id, e.key AS k, arg_max(e.value, updated_at) AS v
  FROM (SELECT session_id, updated_at, unnest(map_entries(session_data)) AS e FROM pa_sessions)
  GROUP BY session_id, e.key
),
data AS (
  SELECT session_id, map_from_entries(list(struct_pack(k := k, v := v))) AS session_data
  FROM kv GROUP BY session_id
)
SELECT r.session_id, r.site_id, r.first_created_at AS created_at, r.updated_at, r.browser, r.os,
       r.device, r.screen, r.language, r.country, r.region, r.city, i.distinct_id, d.session_data
FROM ranked r
LEFT JOIN ids i ON i.session_id = r.session_id
LEFT JOIN data d ON d.session_id = r.session_id
WHERE r.rn = 1;

-- pa_sessions is append-only: Floe writes a row when it first sees a session and again on each
-- update (e.g. identify data). Readers deduplicate with one rule, the same one Floe's own reads use:
--   * the LATEST row per session_id by updated_at wins (its attributes and session_data),
--   * created_at is the EARLIEST created_at of any row of the session (two Floe processes, or a
--     restart that lost the in-memory session cache, can each write a "first" row).
-- Ties on updated_at (same microsecond) are broken by site_id then created_at so every engine
-- picks the same row.
--
-- Replace the catalog/namespace (`iceberg.analytics`, `floe.analytics`) with yours
-- (ICEBERG_CATALOG_NAME / ICEBERG_NAMESPACE).

-- ─── Trino (iceberg connector; catalog "iceberg") ────────────────────────────────────────────────
CREATE OR REPLACE VIEW iceberg.analytics.pa_sessions_latest AS
SELECT session_id, site_id, first_created_at AS created_at, updated_at, browser, os, device, screen,
       language, country, region, city, distinct_id, session_data
FROM (
  SELECT s.*,
         min(created_at) OVER (PARTITION BY session_id) AS first_created_at,
         row_number() OVER (PARTITION BY session_id
                            ORDER BY updated_at DESC, site_id, created_at) AS rn
  FROM iceberg.analytics.pa_sessions s
) t
WHERE rn = 1;

-- ─── Spark SQL (Iceberg Spark runtime; catalog "floe" = spark.sql.catalog.floe) ─────────────────
-- Iceberg >= 1.7 with a REST/JDBC catalog stores this as an Iceberg view; on older versions create
-- it in spark_catalog instead (CREATE OR REPLACE VIEW default.pa_sessions_latest AS ...).
CREATE OR REPLACE VIEW floe.analytics.pa_sessions_latest AS
SELECT session_id, site_id, first_created_at AS created_at, updated_at, browser, os, device, screen,
       language, country, region, city, distinct_id, session_data
FROM (
  SELECT s.*,
         min(created_at) OVER (PARTITION BY session_id) AS first_created_at,
         row_number() OVER (PARTITION BY session_id
                            ORDER BY updated_at DESC, site_id, created_at) AS rn
  FROM floe.analytics.pa_sessions s
) t
WHERE rn = 1;

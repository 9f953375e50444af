-- pa_sessions is append-only: a session can have several rows (first sight, later updates, or two
-- Floe processes). One row per session_id: the latest by updated_at wins, created_at is the earliest
-- of all its rows; ties broken by site_id, created_at so every engine picks the same row
-- (same rule as dev/sessions-view.sql, which also creates it as a view).
SELECT session_id, site_id, first_created_at AS created_at, updated_at, browser, os, device, screen,
       language, country, region, city, distinct_id, session_data
FROM (
  SELECT s.*,
         min(created_at) OVER (PARTITION BY session_id) AS first_created_at,
         row_number() OVER (PARTITION BY session_id ORDER BY updated_at DESC, site_id, created_at) AS rn
  FROM iceberg.analytics.pa_sessions s
) t
WHERE rn = 1
ORDER BY created_at DESC
LIMIT 100;

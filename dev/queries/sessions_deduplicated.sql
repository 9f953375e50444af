-- One row per session (Trino), by the rule in dev/sessions-view.sql: run that file once to create
-- the view iceberg.analytics.pa_sessions_latest, then query it like a table.
SELECT session_id, site_id, created_at, updated_at, browser, os, device, country, distinct_id,
       session_data
FROM iceberg.analytics.pa_sessions_latest
ORDER BY created_at DESC
LIMIT 100;

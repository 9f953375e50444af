-- Sessions started per day and country (Trino), over the deduplicated sessions: the view
-- iceberg.analytics.pa_sessions_latest from dev/sessions-view.sql.
SELECT site_id, date(created_at AT TIME ZONE 'UTC') AS day, coalesce(country, 'unknown') AS country,
       count(*) AS sessions
FROM iceberg.analytics.pa_sessions_latest
GROUP BY 1, 2, 3
ORDER BY day DESC, sessions DESC;

-- Sessions started per day and country, from the deduplicated sessions (Trino).
WITH sessions AS (
  SELECT session_id, site_id, country, first_created_at AS created_at
  FROM (
    SELECT s.*,
           min(created_at) OVER (PARTITION BY session_id) AS first_created_at,
           row_number() OVER (PARTITION BY session_id ORDER BY updated_at DESC, site_id, created_at) AS rn
    FROM iceberg.analytics.pa_sessions s
  ) t
  WHERE rn = 1
)
SELECT site_id, date(created_at AT TIME ZONE 'UTC') AS day, coalesce(country, 'unknown') AS country,
       count(*) AS sessions
FROM sessions
GROUP BY 1, 2, 3
ORDER BY day DESC, sessions DESC;

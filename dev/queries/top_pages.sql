-- Top pages of the last 7 days per site (Trino): pageviews and unique visitors per URL path.
SELECT
  site_id,
  hostname,
  url_path,
  count(*) AS pageviews,
  count(DISTINCT session_id) AS visitors
FROM iceberg.analytics.pa_events
WHERE event_type = 1
  AND event_time >= current_timestamp - INTERVAL '7' DAY
GROUP BY 1, 2, 3
ORDER BY pageviews DESC
LIMIT 50;

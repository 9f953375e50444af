-- Pageviews and unique visitors per day and site (Trino; catalog `iceberg` = JDBC, or `floe_rest`).
-- event_type 1 = pageView (Umami). event_time is UTC; the table is partitioned by day(event_time),
-- so the date filter prunes whole partitions.
SELECT
  site_id,
  date(event_time AT TIME ZONE 'UTC') AS day,
  count(*) AS pageviews,
  count(DISTINCT session_id) AS visitors,
  count(DISTINCT visit_id) AS visits
FROM iceberg.analytics.pa_events
WHERE event_type = 1
  AND event_time >= current_timestamp - INTERVAL '30' DAY
GROUP BY 1, 2
ORDER BY day DESC, pageviews DESC;

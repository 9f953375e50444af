/**
 * The SQL of the /v1 reporting API (DuckDB dialect), run by the query layer (`QueryLayer.query`)
 * over its relation `events`: one site's `pa_events` rows within the range, the columns asked.
 *
 * Every answer uses the definitions of Umami's website stats (`getWebsiteStats` in Umami's
 * `src/queries/sql/`), so /v1 and Umami's API agree on the same rows:
 * - only pageviews (`event_type` 1) count;
 * - rows are first grouped per (keys, session_id, visit_id), then per (keys, session_id): a *session* is a visit (Umami's
 *   "visits"), a *unique visitor* a session id (Umami's "visitors"), a *bounce* a visit with one
 *   pageview, and its *time* is floor(last − first event) in seconds (Umami's "totaltime");
 * - each row weighs 1 / sample_rate (sampled ingest; null = 1, i.e. not sampled) and every count
 *   is the rounded sum of weights: exact counts on unsampled rows.
 * The optional columns (`campaign_id`, `sample_rate`) read as NULL on tables without them (the
 * query layer's rule), so the same SQL serves tables with and without them.
 */
import { V1_DIMENSIONS, type V1Dimension, type V1Interval, type V1Metric } from './params.ts'

export interface V1Sql {
  sql: string
  params: Record<string, string>
  /** The `pa_events` columns the SQL reads (the query layer's `events` request). */
  columns: string[]
}

/** Each metric from the per-visitor rows (`s` below). */
const METRIC_SQL: Record<V1Metric, string> = {
  pageviews: 'sum(s_pageviews)',
  unique_visitors: 'sum(s_weight)',
  sessions: 'sum(s_visits)',
  bounces: 'sum(s_bounces)',
  total_time: 'sum(s_time)',
}

/** The column expression of a dimension; `campaign` falls back to `utm_campaign` row by row. */
export function dimensionSql(dim: V1Dimension): { expr: string; columns: string[] } {
  if (dim === 'campaign')
    return { expr: 'coalesce(campaign_id, utm_campaign)', columns: ['campaign_id', 'utm_campaign'] }
  return { expr: V1_DIMENSIONS[dim], columns: [V1_DIMENSIONS[dim]] }
}

const BASE_COLUMNS = ['event_type', 'session_id', 'visit_id', 'event_time', 'sample_rate']

interface AggregateSpec {
  /** Output name → SQL expression, grouped by. */
  keys: Array<[name: string, expr: string]>
  /** Columns the keys and conditions read. */
  columns: string[]
  metrics: readonly V1Metric[]
  /** An extra condition on the rows. */
  where?: string
  orderBy?: string
  limit?: number
  offset?: number
}

/**
 * Umami's aggregation per (session, visit) with /v1's keys in front, then per visitor, then per
 * key: hash aggregations only (a window over (keys, session) to find each visitor once was
 * slower). Keys are named `k0…` inside; dimension values may be null, which GROUP BY treats as
 * one value.
 */
function aggregate(spec: AggregateSpec, params: Record<string, string> = {}): V1Sql {
  const weight = '1.0 / coalesce(sample_rate, 1.0)'
  const inner = spec.keys.map(([, expr], i) => `${expr} AS k${i}`)
  const keyRefs = spec.keys.map((_, i) => `k${i}`)
  const outputs = [
    ...spec.keys.map(([name], i) => `k${i} AS "${name}"`),
    ...spec.metrics.map((m) => `CAST(round(coalesce(${METRIC_SQL[m]}, 0)) AS BIGINT) AS "${m}"`),
  ]
  const sql = `
WITH v AS (
  SELECT ${[...inner, 'session_id', 'visit_id'].join(', ')},
    count(*) AS c,
    max(${weight}) AS w,
    floor((epoch_us(max(event_time)) - epoch_us(min(event_time))) / 1000000) AS d
  FROM events
  WHERE event_type = 1${spec.where ? ` AND ${spec.where}` : ''}
  GROUP BY ALL
), s AS (
  SELECT ${[...keyRefs, 'session_id'].join(', ')},
    max(w) AS s_weight,
    sum(c * w) AS s_pageviews,
    sum(w) AS s_visits,
    sum(w) FILTER (WHERE c = 1) AS s_bounces,
    sum(d * w) AS s_time
  FROM v
  GROUP BY ${[...keyRefs, 'session_id'].join(', ')}
)
SELECT ${outputs.join(',\n  ')}
FROM s
${keyRefs.length > 0 ? `GROUP BY ${keyRefs.join(', ')}` : ''}
${spec.orderBy ? `ORDER BY ${spec.orderBy}` : ''}
${spec.limit !== undefined ? `LIMIT ${Math.trunc(spec.limit)} OFFSET ${Math.trunc(spec.offset ?? 0)}` : ''}`
  return { sql, params, columns: [...new Set([...BASE_COLUMNS, ...spec.columns])] }
}

/** GET /v1/properties/:id/overview: every metric over the range, one row. */
export function overviewSql(): V1Sql {
  return aggregate({
    keys: [],
    columns: [],
    metrics: ['pageviews', 'unique_visitors', 'sessions', 'bounces', 'total_time'],
  })
}

/** GET /v1/properties/:id/pages: per path, most viewed first. */
export function pagesSql(page: { limit: number; offset: number }): V1Sql {
  return aggregate({
    keys: [['path', 'url_path']],
    columns: ['url_path'],
    metrics: ['pageviews', 'unique_visitors', 'sessions'],
    orderBy: '"pageviews" DESC, "path" ASC NULLS LAST',
    limit: page.limit,
    offset: page.offset,
  })
}

/** GET /v1/properties/:id/campaigns: per campaign (pageviews without one are left out). */
export function campaignsSql(page: { limit: number; offset: number }): V1Sql {
  const { expr, columns } = dimensionSql('campaign')
  return aggregate({
    keys: [['campaign', expr]],
    columns,
    metrics: ['pageviews', 'unique_visitors', 'sessions', 'bounces'],
    where: `${expr} IS NOT NULL`,
    orderBy: '"sessions" DESC, "campaign" ASC',
    limit: page.limit,
    offset: page.offset,
  })
}

/**
 * GET /v1/properties/:id/metrics: `metrics` per time bucket (its start, `interval` in `timezone`,
 * as epoch milliseconds in `bucket_ms`) and per `group_by` value, one row more than `limit` (the
 * caller reports `truncated` when it comes back).
 */
export function metricsSql(q: {
  interval: V1Interval
  timezone: string
  metrics: readonly V1Metric[]
  groupBy: readonly V1Dimension[]
  limit: number
}): V1Sql {
  const unit = q.interval === 'hour' ? 'hour' : 'day'
  const bucket = `epoch_ms(timezone($tz, date_trunc('${unit}', timezone($tz, event_time))))`
  const dims = q.groupBy.map((d) => ({ name: d, ...dimensionSql(d) }))
  return aggregate(
    {
      keys: [['bucket_ms', bucket], ...dims.map((d): [string, string] => [d.name, d.expr])],
      columns: dims.flatMap((d) => d.columns),
      metrics: q.metrics,
      orderBy: ['"bucket_ms" ASC', ...q.groupBy.map((d) => `"${d}" ASC NULLS LAST`)].join(', '),
      limit: q.limit + 1,
    },
    { tz: q.timezone },
  )
}

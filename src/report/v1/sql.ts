/**
 * The SQL of the /v1 reporting API (DuckDB dialect), over the relation `events` = a site's
 * `pa_events` rows as the query layer provides them.
 *
 * Every answer uses the definitions of Umami's website stats (`getWebsiteStats` in Umami's
 * `src/queries/sql/`), so /v1 and Umami's API agree on the same rows:
 * - only pageviews (`event_type` 1) count;
 * - rows are first grouped per (keys, session_id, visit_id): a *session* is a visit (Umami's
 *   "visits"), a *unique visitor* a session id (Umami's "visitors"), a *bounce* a visit with one
 *   pageview, and its *time* is floor(last − first event) in seconds (Umami's "totaltime");
 * - with a `sample_rate` column (sampled ingest), each row weighs 1 / sample_rate (null = 1) and
 *   every count is the rounded sum of weights; without it, counts are exact.
 * Tables without the optional columns (`campaign_id`, `sample_rate`) are read as they are.
 */
import { V1_DIMENSIONS, type V1Dimension, type V1Interval, type V1Metric } from './params.ts'

export type SqlParamValue = string | number
export interface V1Sql {
  sql: string
  params: Record<string, SqlParamValue>
}

export interface V1Scope {
  siteId: string
  from: Date
  to: Date
  /** Column names of the table's current schema. */
  columns: ReadonlySet<string>
}

const METRIC_SQL: Record<V1Metric, string> = {
  pageviews: 'sum(c * w)',
  unique_visitors: 'sum(w) FILTER (WHERE first_of_session)',
  sessions: 'sum(w)',
  bounces: 'sum(w) FILTER (WHERE c = 1)',
  total_time: 'sum(d * w)',
}

/** The column expression of a dimension on this table. */
export function dimensionSql(dim: V1Dimension, columns: ReadonlySet<string>): string {
  if (dim === 'campaign')
    return columns.has('campaign_id') ? 'coalesce(campaign_id, utm_campaign)' : 'utm_campaign'
  return V1_DIMENSIONS[dim]
}

interface AggregateSpec {
  /** Output name → SQL expression, grouped by. */
  keys: Array<[name: string, expr: string]>
  metrics: readonly V1Metric[]
  /** Extra conditions on the rows (already `AND`-joined). */
  where?: string
  orderBy: string
  limit?: number
  offset?: number
}

/**
 * Umami's two-level aggregation with /v1's keys in front. Keys are named `k0…` inside (dimension
 * values may be null, which window partitions and GROUP BY both treat as one value).
 */
function aggregate(scope: V1Scope, spec: AggregateSpec, extraParams: Record<string, SqlParamValue> = {}): V1Sql {
  const weight = scope.columns.has('sample_rate') ? '1.0 / coalesce(sample_rate, 1.0)' : '1'
  const inner = spec.keys.map(([, expr], i) => `${expr} AS k${i}`)
  const keyRefs = spec.keys.map((_, i) => `k${i}`)
  const partition = [...keyRefs, 'session_id'].join(', ')
  const sql = `
WITH v AS (
  SELECT ${[...inner, 'session_id', 'visit_id'].join(', ')},
    count(*) AS c,
    max(${weight}) AS w,
    floor((epoch_us(max(event_time)) - epoch_us(min(event_time))) / 1000000) AS d
  FROM events
  WHERE site_id = $site
    AND event_time BETWEEN $from::TIMESTAMPTZ AND $to::TIMESTAMPTZ
    AND event_type = 1
    ${spec.where ? `AND ${spec.where}` : ''}
  GROUP BY ALL
), v2 AS (
  SELECT *, row_number() OVER (PARTITION BY ${partition}) = 1 AS first_of_session FROM v
)
SELECT ${[
    ...spec.keys.map(([name], i) => `k${i} AS "${name}"`),
    ...spec.metrics.map((m) => `CAST(round(coalesce(${METRIC_SQL[m]}, 0)) AS BIGINT) AS "${m}"`),
  ].join(',\n  ')}
FROM v2
${keyRefs.length > 0 ? `GROUP BY ${keyRefs.join(', ')}` : ''}
${spec.orderBy ? `ORDER BY ${spec.orderBy}` : ''}
${spec.limit !== undefined ? `LIMIT ${Math.trunc(spec.limit)} OFFSET ${Math.trunc(spec.offset ?? 0)}` : ''}`
  return {
    sql,
    params: { site: scope.siteId, from: scope.from.toISOString(), to: scope.to.toISOString(), ...extraParams },
  }
}

/** GET /v1/properties/:id/overview: one row of every metric over the range. */
export function overviewSql(scope: V1Scope): V1Sql {
  return aggregate(scope, {
    keys: [],
    metrics: ['pageviews', 'unique_visitors', 'sessions', 'bounces', 'total_time'],
    orderBy: '',
  })
}

/** GET /v1/properties/:id/pages: per path, most viewed first. */
export function pagesSql(scope: V1Scope, page: { limit: number; offset: number }): V1Sql {
  return aggregate(scope, {
    keys: [['path', 'url_path']],
    metrics: ['pageviews', 'unique_visitors', 'sessions'],
    orderBy: '"pageviews" DESC, "path" ASC NULLS LAST',
    limit: page.limit,
    offset: page.offset,
  })
}

/** GET /v1/properties/:id/campaigns: per campaign (pageviews without one are left out). */
export function campaignsSql(scope: V1Scope, page: { limit: number; offset: number }): V1Sql {
  const campaign = dimensionSql('campaign', scope.columns)
  return aggregate(scope, {
    keys: [['campaign', campaign]],
    metrics: ['pageviews', 'unique_visitors', 'sessions', 'bounces'],
    where: `${campaign} IS NOT NULL`,
    orderBy: '"sessions" DESC, "campaign" ASC',
    limit: page.limit,
    offset: page.offset,
  })
}

/**
 * GET /v1/properties/:id/metrics: `metrics` per time bucket (the bucket's start, `interval` in
 * `timezone`, as epoch milliseconds in `bucket_ms`) and per `group_by` value.
 */
export function metricsSql(
  scope: V1Scope,
  q: {
    interval: V1Interval
    timezone: string
    metrics: readonly V1Metric[]
    groupBy: readonly V1Dimension[]
    limit: number
  },
): V1Sql {
  const bucket = `epoch_ms(timezone($tz, date_trunc('${q.interval === 'hour' ? 'hour' : 'day'}', timezone($tz, event_time))))`
  const dims = q.groupBy.map((d): [string, string] => [d, dimensionSql(d, scope.columns)])
  return aggregate(
    scope,
    {
      keys: [['bucket_ms', bucket], ...dims],
      metrics: q.metrics,
      orderBy: ['"bucket_ms" ASC', ...q.groupBy.map((d) => `"${d}" ASC NULLS LAST`)].join(', '),
      // One more than asked: the caller reports `truncated` when it comes back.
      limit: q.limit + 1,
    },
    { tz: q.timezone },
  )
}

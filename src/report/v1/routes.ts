/**
 * The /v1 reporting API (docs/reporting.md, "The /v1 reporting API"): a site's numbers for
 * server-to-server callers with a read key.
 *
 *   GET /v1/properties/:id/overview   ?from&to[&timezone]
 *   GET /v1/properties/:id/pages      ?from&to[&limit&offset]
 *   GET /v1/properties/:id/campaigns  ?from&to[&limit&offset]
 *   GET /v1/properties/:id/metrics    ?from&to&interval=day|hour[&metrics&group_by&timezone&limit]
 *
 * Auth: `Authorization: Bearer <read or share key of the site>` or the admin token
 * (`authorizeSite`, kinds read/share): none or unknown → 401, another site's key or a write key →
 * 403. Parameters are checked by the JSON schemas, then by `params.ts`: every refusal is a 400
 * naming the parameter. The SQL is `sql.ts`, run by the query layer over the site's rows.
 */
import type { FastifyPluginAsync } from 'fastify'
import { SiteNotFoundError } from '../../errors.ts'
import type { KeyStore } from '../../sites/keys.ts'
import type { SiteStore } from '../../sites/store.ts'
import { authorizeSite } from '../../receive/site-auth.ts'
import type { QueryLayer } from '../query-layer.ts'
import {
  V1_DIMENSIONS,
  V1_METRICS,
  parseList,
  parseRange,
  type V1Dimension,
  type V1Interval,
  type V1Metric,
  type V1Range,
} from './params.ts'
import { campaignsSql, metricsSql, overviewSql, pagesSql, type V1Sql } from './sql.ts'

export interface V1ReportOptions {
  layer: QueryLayer
  sites: SiteStore
  keys: KeyStore
  adminToken: string | undefined
  /** FLOE_REPORT_MAX_SPAN_DAYS. */
  maxSpanDays: number
}

/** Rows one /v1 answer may hold (pages, campaigns, metrics): the `limit` parameter's maximum. */
export const V1_MAX_ROWS = 10_000

const params = {
  type: 'object',
  required: ['id'],
  properties: { id: { type: 'string', format: 'uuid' } },
}
const range = {
  from: { type: 'string', maxLength: 40 },
  to: { type: 'string', maxLength: 40 },
  timezone: { type: 'string', maxLength: 64 },
}
const paging = {
  limit: { type: 'integer', minimum: 1, maximum: V1_MAX_ROWS, default: 100 },
  offset: { type: 'integer', minimum: 0, maximum: 1_000_000, default: 0 },
}
const query = (props: Record<string, object>, required: string[] = []) => ({
  type: 'object',
  required: ['from', 'to', ...required],
  additionalProperties: false,
  properties: { ...range, ...props },
})
const rangeOut = {
  type: 'object',
  properties: { from: { type: 'string' }, to: { type: 'string' }, timezone: { type: 'string' } },
}
const count = { type: 'integer' }
const counts = (names: readonly string[]) => Object.fromEntries(names.map((n) => [n, count]))

const overviewOut = {
  type: 'object',
  properties: {
    property_id: { type: 'string' },
    range: rangeOut,
    ...counts(['pageviews', 'unique_visitors', 'sessions', 'bounces', 'total_time']),
    bounce_rate: { type: 'number' },
    avg_session_seconds: { type: 'number' },
  },
}
const listOut = (name: string, key: string, metrics: readonly string[]) => ({
  type: 'object',
  properties: {
    property_id: { type: 'string' },
    range: rangeOut,
    [name]: {
      type: 'array',
      items: { type: 'object', properties: { [key]: { type: ['string', 'null'] }, ...counts(metrics) } },
    },
  },
})
const metricsOut = {
  type: 'object',
  properties: {
    property_id: { type: 'string' },
    range: rangeOut,
    interval: { type: 'string' },
    metrics: { type: 'array', items: { type: 'string' } },
    group_by: { type: 'array', items: { type: 'string' } },
    truncated: { type: 'boolean' },
    rows: {
      type: 'array',
      items: {
        type: 'object',
        properties: {
          time: { type: 'string' },
          ...Object.fromEntries(Object.keys(V1_DIMENSIONS).map((d) => [d, { type: ['string', 'null'] }])),
          ...counts(V1_METRICS),
        },
      },
    },
  },
}

interface RangeQuery {
  from: string
  to: string
  timezone?: string
}
type PagedQuery = RangeQuery & { limit: number; offset: number }
type MetricsQuery = RangeQuery & { interval: V1Interval; metrics?: string; group_by?: string; limit: number }

export const v1ReportRoutes: FastifyPluginAsync<V1ReportOptions> = async (app, opts) => {
  const auth = { adminToken: opts.adminToken, keys: opts.keys, kinds: ['read', 'share'] as const }

  /** Auth, the site, the range; then the SQL over the site's rows in the range. */
  async function run<T>(
    req: { headers: Record<string, unknown>; params: unknown; query: unknown },
    sql: (r: V1Range) => V1Sql,
  ): Promise<{ siteId: string; range: V1Range; rows: T[] }> {
    const { id } = req.params as { id: string }
    const siteId = id.toLowerCase()
    await authorizeSite(req as never, siteId, auth)
    const site = await opts.sites.get(siteId)
    if (!site || site.deletedAt) throw new SiteNotFoundError(siteId)
    const r = parseRange(req.query as RangeQuery, opts.maxSpanDays)
    const q = sql(r)
    const rows = await opts.layer.query<T>(
      { siteIds: [siteId], from: r.from, to: r.to, events: q.columns, rangeParam: 'from' },
      q.sql,
      q.params,
    )
    return { siteId, range: r, rows }
  }
  const rangeJson = (r: V1Range) => ({
    from: r.from.toISOString(),
    to: r.to.toISOString(),
    timezone: r.timezone,
  })

  app.get(
    '/v1/properties/:id/overview',
    { schema: { params, querystring: query({}), response: { 200: overviewOut } } },
    async (req) => {
      const { siteId, range: r, rows } = await run<Record<string, number>>(req, () => overviewSql())
      const o = rows[0] ?? {}
      const n = (k: string) => Number(o[k] ?? 0)
      return {
        property_id: siteId,
        range: rangeJson(r),
        pageviews: n('pageviews'),
        unique_visitors: n('unique_visitors'),
        sessions: n('sessions'),
        bounces: n('bounces'),
        total_time: n('total_time'),
        bounce_rate: n('sessions') > 0 ? n('bounces') / n('sessions') : 0,
        avg_session_seconds: n('sessions') > 0 ? n('total_time') / n('sessions') : 0,
      }
    },
  )

  app.get(
    '/v1/properties/:id/pages',
    {
      schema: {
        params,
        querystring: query(paging),
        response: { 200: listOut('pages', 'path', ['pageviews', 'unique_visitors', 'sessions']) },
      },
    },
    async (req) => {
      const q = req.query as PagedQuery
      const { siteId, range: r, rows } = await run(req, () => pagesSql(q))
      return { property_id: siteId, range: rangeJson(r), pages: rows }
    },
  )

  app.get(
    '/v1/properties/:id/campaigns',
    {
      schema: {
        params,
        querystring: query(paging),
        response: {
          200: listOut('campaigns', 'campaign', ['pageviews', 'unique_visitors', 'sessions', 'bounces']),
        },
      },
    },
    async (req) => {
      const q = req.query as PagedQuery
      const { siteId, range: r, rows } = await run(req, () => campaignsSql(q))
      return { property_id: siteId, range: rangeJson(r), campaigns: rows }
    },
  )

  app.get(
    '/v1/properties/:id/metrics',
    {
      schema: {
        params,
        querystring: query(
          {
            interval: { type: 'string', enum: ['day', 'hour'] },
            metrics: { type: 'string', maxLength: 200 },
            group_by: { type: 'string', maxLength: 200 },
            limit: { ...paging.limit, default: 1000 },
          },
          ['interval'],
        ),
        response: { 200: metricsOut },
      },
    },
    async (req) => {
      const q = req.query as MetricsQuery
      // Checked before the site and the range, so a bad list is named even with a bad range too.
      const metrics = parseList<V1Metric>('metrics', q.metrics, V1_METRICS, [
        'pageviews',
        'unique_visitors',
        'sessions',
      ])
      const groupBy =
        q.group_by === undefined
          ? []
          : parseList<V1Dimension>('group_by', q.group_by, Object.keys(V1_DIMENSIONS) as V1Dimension[], [])
      const {
        siteId,
        range: r,
        rows,
      } = await run<Record<string, unknown>>(req, (rr) =>
        metricsSql({ interval: q.interval, timezone: rr.timezone, metrics, groupBy, limit: q.limit }),
      )
      const truncated = rows.length > q.limit
      return {
        property_id: siteId,
        range: rangeJson(r),
        interval: q.interval,
        metrics,
        group_by: groupBy,
        truncated,
        rows: rows.slice(0, q.limit).map(({ bucket_ms, ...rest }) => ({
          time: new Date(Number(bucket_ms)).toISOString(),
          ...rest,
        })),
      }
    },
  )
}

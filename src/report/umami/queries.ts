/**
 * Umami's website queries (`src/queries/sql/` in umami-software/umami, the relational versions)
 * as DuckDB SQL over the query layer's `events` / `sessions`. Each function names the Umami query
 * it follows; differences are listed in docs/reporting.md.
 */
import type { QueryLayer, ScanRequest, SqlParams } from '../query-layer.ts'
import type { DateRange, TimeUnit } from '../range.ts'
import { FILTER_COLUMNS, filterSql, type Filter } from './filters.ts'
import { channelOf, CHANNELS } from './channels.ts'
import { RATE, SESSION_ROLLUP, total, VISIT_TOTALS, WEIGHT } from './weights.ts'

export interface QueryScope {
  siteId: string
  range: DateRange
  filters: readonly Filter[]
  match: 'all' | 'any'
}

/** Metric types that group by an event column (Umami's EVENT_COLUMNS) or a session column. */
export const EVENT_METRICS = [
  'path',
  'entry',
  'exit',
  'referrer',
  'domain',
  'title',
  'query',
  'event',
  'tag',
  'hostname',
  'utmSource',
  'utmMedium',
  'utmCampaign',
  'utmContent',
  'utmTerm',
] as const
export const SESSION_METRICS = [
  'browser',
  'os',
  'device',
  'screen',
  'language',
  'country',
  'city',
  'region',
  'distinctId',
] as const
export const METRIC_TYPES = [...EVENT_METRICS, ...SESSION_METRICS, 'channel'] as const
export type MetricType = (typeof METRIC_TYPES)[number]

const BASE = ['session_id', 'visit_id', 'event_type', 'event_time', 'sample_rate']

const columnOf = (type: Exclude<MetricType, 'channel'>): string => FILTER_COLUMNS[type]

function scanOf(scope: QueryScope, extra: readonly string[], from = scope.range.startDate): ScanRequest {
  const f = filterSql(scope.filters, scope.match)
  return {
    siteIds: [scope.siteId],
    from,
    to: scope.range.endDate,
    events: [...new Set([...BASE, ...extra, ...f.columns])],
  }
}

/**
 * What grouping by a metric type's column adds to a query (Umami's metric queries): the columns to
 * read; for referrer types, leaving out empty referrers and self-referrals; for entry/exit, the
 * join to each visit's first or last event of `typeClause` in the range (unfiltered, as Umami's).
 */
function columnParts(type: Exclude<MetricType, 'channel'>, typeClause: string) {
  const column = columnOf(type)
  const extra = [column]
  let join = ''
  let exclude = ''
  if (column === 'referrer_domain') {
    extra.push('hostname')
    exclude = `AND referrer_domain IS NOT NULL AND referrer_domain <> '' AND referrer_domain IS DISTINCT FROM hostname`
  }
  if (type === 'entry' || type === 'exit')
    join = `JOIN (SELECT visit_id AS x_visit, ${type === 'entry' ? 'min' : 'max'}(event_time) AS x_time
                  FROM events WHERE ${typeClause} GROUP BY 1) x
            ON x.x_visit = events.visit_id AND x.x_time = events.event_time`
  return { extra, join, exclude }
}

/** Each (session, visit)'s pageview count, weighted count, rate and time span (stats, expanded). */
const VISITS = `SELECT session_id, visit_id, count(*) AS c, sum(${WEIGHT}) AS cw, max(${RATE}) AS r,
                       min(event_time) AS min_time, max(event_time) AS max_time
                FROM events`

/** Each session with events in the range and its weight (by its largest rate), for session data. */
const SESSION_WEIGHTS = `SELECT session_id, 1.0 / max(${RATE}) AS w FROM events WHERE true`

/** Bucket start in the request's time zone, as Umami's `getDateSQL` prints it. */
function bucket(unit: TimeUnit): string {
  return `strftime(date_trunc('${unit}', timezone($tz, event_time)), '%Y-%m-%d %H:%M:%S')`
}

export interface WebsiteStats {
  pageviews: number
  visitors: number
  visits: number
  bounces: number
  totaltime: number
}

export class UmamiQueries {
  constructor(private readonly layer: QueryLayer) {}

  private run<T>(scan: ScanRequest, sql: string, params: SqlParams): Promise<T[]> {
    return this.layer.query<T>(scan, sql, params)
  }

  /** getWebsiteStats. */
  async stats(scope: QueryScope): Promise<WebsiteStats> {
    const f = filterSql(scope.filters, scope.match)
    const [row] = await this.run<WebsiteStats>(
      scanOf(scope, []),
      `SELECT ${VISIT_TOTALS}
       FROM (SELECT session_id, ${SESSION_ROLLUP}
             FROM (${VISITS} WHERE event_type = 1 ${f.where} GROUP BY 1, 2) g GROUP BY 1) s`,
      f.params,
    )
    return row
  }

  /** getPageviewStats (pageviews per bucket) and getSessionStats (distinct sessions per bucket). */
  async pageviewSeries(scope: QueryScope): Promise<{ pageviews: Point[]; sessions: Point[] }> {
    const f = filterSql(scope.filters, scope.match)
    const rows = await this.run<{ x: string; pageviews: number; sessions: number }>(
      scanOf(scope, []),
      `SELECT x, ${total('sum(cw)')} AS pageviews, ${total('sum(1.0 / r)')} AS sessions
       FROM (SELECT ${bucket(scope.range.unit)} AS x, session_id, sum(${WEIGHT}) AS cw, max(${RATE}) AS r
             FROM events WHERE event_type = 1 ${f.where} GROUP BY 1, 2) s
       GROUP BY 1 ORDER BY 1`,
      { ...f.params, tz: scope.range.timezone },
    )
    return {
      pageviews: rows.map((r) => ({ x: r.x, y: r.pageviews })),
      sessions: rows.map((r) => ({ x: r.x, y: r.sessions })),
    }
  }

  /** getPageviewMetrics / getSessionMetrics / getChannelMetrics. */
  async metrics(
    scope: QueryScope,
    type: MetricType,
    o: { limit: number; offset: number; search?: string },
  ): Promise<MetricRow[]> {
    if (type === 'channel') return this.channels(scope)
    const column = columnOf(type)
    const filters = o.search
      ? [...scope.filters, { name: type, column, operator: 'c' as const, values: [o.search] }]
      : scope.filters
    const f = filterSql(filters, scope.match)
    const eventType = type === 'event' ? 2 : 1
    const { extra, join, exclude } = columnParts(type, `event_type = ${eventType}`)
    const withCountry = type === 'city' || type === 'region'
    if (withCountry) extra.push('country')
    const rows = await this.run<MetricRow>(
      scanOf({ ...scope, filters }, extra),
      `SELECT x, ${total('sum(1.0 / r)')} AS y${withCountry ? ', country' : ''}
       FROM (SELECT ${column} AS x, ${withCountry ? 'country, ' : ''}session_id, max(${RATE}) AS r
             FROM events ${join}
             WHERE event_type = ${eventType} ${exclude} ${f.where}
             GROUP BY ALL) s
       GROUP BY 1${withCountry ? ', 3' : ''}
       ORDER BY 2 DESC, 1
       LIMIT ${o.limit} OFFSET ${o.offset}`,
      f.params,
    )
    if (type !== 'language') return rows
    // Umami's metrics route folds languages to their primary subtag.
    const combined = new Map<string, MetricRow>()
    for (const { x, y } of rows) {
      const key = String(x).toLowerCase().split('-')[0]
      const have = combined.get(key)
      if (have) have.y += y
      else combined.set(key, { x: key, y })
    }
    return [...combined.values()]
  }

  /** getChannelMetrics + the metrics route's getChannels. */
  async channels(scope: QueryScope): Promise<MetricRow[]> {
    const f = filterSql(scope.filters, scope.match)
    const rows = await this.run<{ domain: string | null; query: string | null; visitors: number }>(
      scanOf(scope, ['referrer_domain', 'url_query']),
      // Unrounded: the pairs' visitors are summed per channel first, then rounded.
      `SELECT domain, query, sum(1.0 / r) AS visitors
       FROM (SELECT referrer_domain AS domain, url_query AS query, session_id, max(${RATE}) AS r
             FROM events WHERE true ${f.where} GROUP BY 1, 2, 3) s
       GROUP BY 1, 2`,
      f.params,
    )
    const totals = new Map<string, number>(CHANNELS.map((c) => [c, 0]))
    for (const r of rows) {
      const c = channelOf(r.domain, r.query)
      if (c) totals.set(c, totals.get(c)! + r.visitors)
    }
    return [...totals].map(([x, y]) => ({ x, y: Math.round(y) })).sort((a, b) => b.y - a.y)
  }

  /** getPageviewExpandedMetrics (also used for session columns and channels). */
  async expandedMetrics(
    scope: QueryScope,
    type: MetricType,
    o: { limit: number; offset: number; search?: string },
  ): Promise<ExpandedRow[]> {
    if (type === 'channel') return this.expandedChannels(scope, o)
    const column = columnOf(type)
    const filters = o.search
      ? [...scope.filters, { name: type, column, operator: 'c' as const, values: [o.search] }]
      : scope.filters
    const typeClause = type === 'event' ? 'event_type = 2' : 'event_type <> 2'
    const { extra, join, exclude } = columnParts(type, typeClause)
    return this.expanded(
      { ...scope, filters },
      { name: column, extra, join, where: `${typeClause} ${exclude}` },
      o,
    )
  }

  /**
   * Expanded metrics per channel: the (referrer domain, query) pairs of the range are classified
   * with Umami's rules (channels.ts), then each event is counted under its pair's channel.
   */
  private async expandedChannels(
    scope: QueryScope,
    o: { limit: number; offset: number; search?: string },
  ): Promise<ExpandedRow[]> {
    const f = filterSql(scope.filters, scope.match)
    const pairs = await this.run<{ d: string; q: string }>(
      scanOf(scope, ['referrer_domain', 'url_query']),
      `SELECT DISTINCT coalesce(referrer_domain, '') AS d, coalesce(url_query, '') AS q
       FROM events WHERE event_type <> 2 ${f.where}`,
      f.params,
    )
    const md: string[] = []
    const mq: string[] = []
    const mc: string[] = []
    for (const { d, q } of pairs) {
      const c = channelOf(d || null, q || null)
      if (!c || (o.search && !c.toLowerCase().includes(o.search.toLowerCase()))) continue
      md.push(d)
      mq.push(q)
      mc.push(c)
    }
    if (mc.length === 0) return []
    return this.expanded(
      scope,
      {
        name: 'm.ch',
        extra: ['referrer_domain', 'url_query'],
        join: `JOIN (SELECT unnest($md) AS d, unnest($mq) AS q, unnest($mc) AS ch) m
                 ON m.d = coalesce(events.referrer_domain, '') AND m.q = coalesce(events.url_query, '')`,
        where: 'event_type <> 2',
      },
      o,
      { md, mq, mc },
    )
  }

  /** Umami's expanded-metrics shape over the rows `part` selects, grouped by `part.name`. */
  private expanded(
    scope: QueryScope,
    part: { name: string; extra: readonly string[]; join: string; where: string },
    o: { limit: number; offset: number },
    params: SqlParams = {},
  ): Promise<ExpandedRow[]> {
    const f = filterSql(scope.filters, scope.match)
    return this.run<ExpandedRow>(
      scanOf(scope, part.extra),
      `SELECT name, ${VISIT_TOTALS}
       FROM (SELECT name, session_id, ${SESSION_ROLLUP}
             FROM (SELECT ${part.name} AS name, session_id, visit_id, count(*) AS c, sum(${WEIGHT}) AS cw,
                          max(${RATE}) AS r, min(event_time) AS min_time, max(event_time) AS max_time
                   FROM events ${part.join}
                   WHERE ${part.where} ${f.where}
                   GROUP BY 1, 2, 3) g
             WHERE name IS NOT NULL AND name <> ''
             GROUP BY 1, 2) s
       GROUP BY name ORDER BY visitors DESC, visits DESC, name
       LIMIT ${o.limit} OFFSET ${o.offset}`,
      { ...f.params, ...params },
    )
  }

  /** getActiveVisitors: distinct sessions with an event in the last 5 minutes. */
  async active(siteId: string, now = new Date()): Promise<{ visitors: number }> {
    const [row] = await this.run<{ visitors: number }>(
      {
        siteIds: [siteId],
        from: new Date(now.getTime() - 5 * 60_000),
        to: now,
        events: ['session_id', 'sample_rate'],
      },
      `SELECT ${total('sum(1.0 / r)')} AS visitors
       FROM (SELECT session_id, max(${RATE}) AS r FROM events GROUP BY 1) s`,
      {},
    )
    return row
  }

  /** getEventMetrics (events/series): custom events per name and bucket. */
  async eventSeries(scope: QueryScope): Promise<{ x: string; t: string; y: number }[]> {
    const f = filterSql(scope.filters, scope.match)
    return this.run(
      scanOf(scope, ['event_name']),
      `SELECT event_name AS x, ${bucket(scope.range.unit)} AS t, ${total(`sum(${WEIGHT})`)} AS y
       FROM events WHERE event_type = 2 ${f.where} GROUP BY 1, 2 ORDER BY 2, 1`,
      { ...f.params, tz: scope.range.timezone },
    )
  }

  /** getWebsiteEventStats. */
  async eventStats(scope: QueryScope): Promise<EventStats> {
    const f = filterSql(scope.filters, scope.match)
    const [row] = await this.run<EventStats>(
      scanOf(scope, ['event_name']),
      `SELECT ${total('sum(cw)')} AS events, ${total('sum(1.0 / sr)')} AS visitors, ${total('sum(vw)')} AS visits,
              any_value(u.n)::BIGINT AS "uniqueEvents"
       FROM (SELECT session_id, sum(cw) AS cw, max(r) AS sr, sum(1.0 / r) AS vw
             FROM (SELECT session_id, visit_id, sum(${WEIGHT}) AS cw, max(${RATE}) AS r FROM events
                   WHERE event_type = 2 ${f.where} GROUP BY 1, 2) g GROUP BY 1) s,
            (SELECT count(DISTINCT event_name) AS n FROM events WHERE event_type = 2 ${f.where}) u`,
      f.params,
    )
    return row
  }

  /** getWebsiteSessions: one row per session with events in the range, newest first. */
  async sessions(
    scope: QueryScope,
    o: { page: number; pageSize: number; search?: string },
  ): Promise<{ data: SessionRow[]; count: number }> {
    const f = filterSql(scope.filters, scope.match)
    const params: SqlParams = { ...f.params }
    let search = ''
    if (o.search) {
      params.search = `%${o.search}%`
      search = `AND (distinct_id ILIKE $search OR city ILIKE $search OR browser ILIKE $search
                     OR os ILIKE $search OR device ILIKE $search)`
    }
    const cols = ['site_id', 'hostname', 'browser', 'os', 'device', 'screen', 'language', 'country', 'region']
    const rows = await this.run<SessionRow & { total: number }>(
      scanOf(scope, [...cols, 'city', 'distinct_id']),
      `SELECT session_id AS id, any_value(site_id) AS "websiteId", any_value(hostname) AS hostname,
              any_value(browser) AS browser, any_value(os) AS os, any_value(device) AS device,
              any_value(screen) AS screen, any_value(language) AS language, any_value(country) AS country,
              any_value(region) AS region, any_value(city) AS city, max(distinct_id) AS "distinctId",
              strftime(min(event_time), '%Y-%m-%dT%H:%M:%S.%gZ') AS "firstAt",
              strftime(max(event_time), '%Y-%m-%dT%H:%M:%S.%gZ') AS "lastAt",
              count(DISTINCT visit_id)::BIGINT AS visits,
              sum(CASE WHEN event_type = 1 THEN 1 ELSE 0 END)::BIGINT AS views,
              sum(CASE WHEN event_type = 2 THEN 1 ELSE 0 END)::BIGINT AS events,
              strftime(max(event_time), '%Y-%m-%dT%H:%M:%S.%gZ') AS "createdAt",
              count(*) OVER ()::BIGINT AS total
       FROM events WHERE true ${f.where} ${search}
       GROUP BY session_id ORDER BY max(event_time) DESC, session_id
       LIMIT ${o.pageSize} OFFSET ${(o.page - 1) * o.pageSize}`,
      params,
    )
    const count = rows[0]?.total ?? (o.page > 1 ? await this.sessionCount(scope, search, params) : 0)
    return { data: rows.map(({ total: _t, ...r }) => r), count }
  }

  private async sessionCount(scope: QueryScope, search: string, params: SqlParams): Promise<number> {
    const f = filterSql(scope.filters, scope.match)
    const [r] = await this.run<{ n: number }>(
      scanOf(scope, ['browser', 'os', 'device', 'city', 'distinct_id']),
      `SELECT count(DISTINCT session_id)::BIGINT AS n FROM events WHERE true ${f.where} ${search}`,
      params,
    )
    return r.n
  }

  /** getWebsiteSessionStats. */
  async sessionStats(scope: QueryScope): Promise<Record<string, number>> {
    const f = filterSql(scope.filters, scope.match)
    const [row] = await this.run<Record<string, number>>(
      scanOf(scope, ['country']),
      `SELECT ${total('sum(cw)')} AS pageviews, ${total('sum(1.0 / sr)')} AS visitors, ${total('sum(vw)')} AS visits,
              any_value(u.n)::BIGINT AS countries, ${total('sum(ew)')} AS events
       FROM (SELECT session_id, sum(cw) AS cw, sum(ew) AS ew, max(r) AS sr, sum(1.0 / r) AS vw
             FROM (SELECT session_id, visit_id, sum(${WEIGHT}) AS cw,
                          sum(${WEIGHT}) FILTER (WHERE event_type = 2) AS ew, max(${RATE}) AS r
                   FROM events WHERE true ${f.where} GROUP BY 1, 2) g GROUP BY 1) s,
            (SELECT count(DISTINCT country) AS n FROM events WHERE true ${f.where}) u`,
      f.params,
    )
    return row
  }

  /** getEventDataProperties: (event name, property) pairs with the rows that carry them. */
  async eventDataProperties(
    scope: QueryScope,
    propertyName?: string,
  ): Promise<{ eventName: string; propertyName: string; dataType: number; total: number }[]> {
    const f = filterSql(scope.filters, scope.match)
    const params: SqlParams = { ...f.params }
    let prop = ''
    if (propertyName) {
      params.prop = propertyName
      prop = 'WHERE k = $prop'
    }
    return this.run(
      scanOf(scope, ['event_name', 'event_data']),
      `SELECT event_name AS "eventName", k AS "propertyName", 1 AS "dataType", ${total('sum(w)')} AS total
       FROM (SELECT event_name, unnest(map_keys(event_data)) AS k, ${WEIGHT} AS w FROM events
             WHERE event_data IS NOT NULL ${f.where}) ${prop}
       GROUP BY 1, 2 ORDER BY 4 DESC, 1, 2 LIMIT 500`,
      params,
    )
  }

  /** getEventDataValues. */
  async eventDataValues(
    scope: QueryScope,
    eventName: string,
    propertyName: string,
  ): Promise<{ value: string; total: number }[]> {
    const f = filterSql(scope.filters, scope.match)
    return this.run(
      scanOf(scope, ['event_name', 'event_data']),
      `SELECT v AS value, ${total('sum(w)')} AS total
       FROM (SELECT event_data[$prop] AS v, ${WEIGHT} AS w FROM events WHERE event_name = $event ${f.where})
       WHERE v IS NOT NULL GROUP BY 1 ORDER BY 2 DESC, 1 LIMIT 100`,
      { ...f.params, prop: propertyName, event: eventName },
    )
  }

  /** getSessionDataProperties: properties of the sessions with events in the range. */
  async sessionDataProperties(scope: QueryScope): Promise<{ propertyName: string; total: number }[]> {
    const f = filterSql(scope.filters, scope.match)
    return this.run(
      { ...scanOf(scope, []), sessions: true },
      `SELECT k AS "propertyName", ${total('sum(w)')} AS total
       FROM (SELECT DISTINCT s.session_id, unnest(map_keys(s.session_data)) AS k, e.w
             FROM sessions s JOIN (${SESSION_WEIGHTS} ${f.where} GROUP BY 1) e
               ON e.session_id = s.session_id
             WHERE s.session_data IS NOT NULL)
       GROUP BY 1 ORDER BY 2 DESC, 1 LIMIT 500`,
      f.params,
    )
  }

  /** getSessionDataValues. */
  async sessionDataValues(
    scope: QueryScope,
    propertyName: string,
  ): Promise<{ value: string; total: number }[]> {
    const f = filterSql(scope.filters, scope.match)
    return this.run(
      { ...scanOf(scope, []), sessions: true },
      `SELECT v AS value, ${total('sum(w)')} AS total
       FROM (SELECT DISTINCT s.session_id, s.session_data[$prop] AS v, e.w
             FROM sessions s JOIN (${SESSION_WEIGHTS} ${f.where} GROUP BY 1) e
               ON e.session_id = s.session_id)
       WHERE v IS NOT NULL GROUP BY 1 ORDER BY 2 DESC, 1 LIMIT 100`,
      { ...f.params, prop: propertyName },
    )
  }
}

export interface Point {
  x: string
  y: number
}
export interface MetricRow {
  x: string | null
  y: number
  country?: string | null
}
export interface ExpandedRow {
  name: string
  pageviews: number
  visitors: number
  visits: number
  bounces: number
  totaltime: number
}
export interface EventStats {
  events: number
  visitors: number
  visits: number
  uniqueEvents: number
}
export interface SessionRow {
  id: string
  websiteId: string
  hostname: string | null
  browser: string | null
  os: string | null
  device: string | null
  screen: string | null
  language: string | null
  country: string | null
  region: string | null
  city: string | null
  distinctId: string | null
  firstAt: string
  lastAt: string
  visits: number
  views: number
  events: number
  createdAt: string
}

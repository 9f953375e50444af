/**
 * Umami itself on PostgreSQL, as the reference that Floe's reporting answers are compared with (the
 * correctness test) and timed against (bench/reporting.ts).
 *
 * - **Schema**: the tables `website_event`, `session`, `event_data` and `session_data` with the
 *   columns, types and every `@@index` of Umami v3's `prisma/schema.prisma` (umami-software/umami),
 *   so the Postgres planner has exactly the indexes a real Umami install has.
 * - **Queries**: Umami's own Postgres SQL from `src/queries/sql/` (umami-software/umami at
 *   0a0c1f27c6b7ec9ad5c9933a0d06cfdb0cbfc427, v3): `getWebsiteStats`, `getPageviewStats`,
 *   `getSessionStats`, `getPageviewMetrics`, `getSessionMetrics`, with the filter SQL of
 *   `src/lib/prisma.ts` (`parseFilters`, `getFilterQuery`, `mapFilter`, `getDateSQL`) and the
 *   `{{name::type}}` → `$n::type` parameter binding of its `rawQuery`. The text is kept as Umami
 *   writes it so a difference in an answer is a difference in Floe, not in a re-derivation.
 * - **Loading**: Floe's rows (`pa_events`, `pa_sessions`) mapped to Umami's layout: session
 *   attributes go to `session` (Floe denormalises them onto each event, as Umami's ClickHouse
 *   schema does), `event_data` / `session_data` get one row per map key (string data type).
 */
import pg from 'pg'
import type { EventRow, SessionRow } from '../../src/rows.ts'

/** Umami v3 `prisma/schema.prisma`, the four analytics tables (no foreign keys: Prisma keeps them in the app). */
const SCHEMA = `
CREATE TABLE IF NOT EXISTS session (
  session_id uuid PRIMARY KEY,
  website_id uuid NOT NULL,
  browser varchar(20), os varchar(20), device varchar(20), screen varchar(11),
  language varchar(35), country char(2), region varchar(20), city varchar(50),
  distinct_id varchar(50),
  created_at timestamptz(6) DEFAULT now()
);
CREATE TABLE IF NOT EXISTS website_event (
  event_id uuid PRIMARY KEY,
  website_id uuid NOT NULL,
  session_id uuid NOT NULL,
  visit_id uuid NOT NULL,
  created_at timestamptz(6) DEFAULT now(),
  url_path varchar(500) NOT NULL,
  url_query varchar(500),
  utm_source varchar(255), utm_medium varchar(255), utm_campaign varchar(255),
  utm_content varchar(255), utm_term varchar(255),
  referrer_path varchar(500), referrer_query varchar(500), referrer_domain varchar(500),
  page_title varchar(500),
  gclid varchar(255), fbclid varchar(255), msclkid varchar(255), ttclid varchar(255),
  li_fat_id varchar(255), twclid varchar(255),
  event_type integer NOT NULL DEFAULT 1,
  event_name varchar(50),
  tag varchar(50),
  hostname varchar(100)
);
CREATE TABLE IF NOT EXISTS event_data (
  event_data_id uuid PRIMARY KEY,
  website_id uuid NOT NULL,
  website_event_id uuid NOT NULL,
  data_key varchar(500) NOT NULL,
  string_value varchar(500),
  number_value decimal(19,4),
  date_value timestamptz(6),
  data_type integer NOT NULL,
  created_at timestamptz(6) DEFAULT now()
);
CREATE TABLE IF NOT EXISTS session_data (
  session_data_id uuid PRIMARY KEY,
  website_id uuid NOT NULL,
  session_id uuid NOT NULL,
  data_key varchar(500) NOT NULL,
  string_value varchar(500),
  number_value decimal(19,4),
  date_value timestamptz(6),
  data_type integer NOT NULL,
  distinct_id varchar(50),
  created_at timestamptz(6) DEFAULT now()
);
`

/** Every `@@index` of the four models, in Prisma's naming (`<table>_<cols>_idx`). */
const INDEXES: Array<[table: string, columns: string[]]> = [
  ['session', ['created_at']],
  ['session', ['website_id']],
  ['session', ['website_id', 'created_at']],
  ...['browser', 'os', 'device', 'screen', 'language', 'country', 'region', 'city'].map(
    (c): [string, string[]] => ['session', ['website_id', 'created_at', c]],
  ),
  ['website_event', ['created_at']],
  ['website_event', ['session_id']],
  ['website_event', ['visit_id']],
  ['website_event', ['website_id']],
  ['website_event', ['website_id', 'created_at']],
  ...['url_path', 'url_query', 'referrer_domain', 'page_title', 'event_name', 'tag'].map(
    (c): [string, string[]] => ['website_event', ['website_id', 'created_at', c]],
  ),
  ['website_event', ['website_id', 'session_id', 'created_at']],
  ['website_event', ['website_id', 'visit_id', 'created_at']],
  ['website_event', ['website_id', 'created_at', 'hostname']],
  ['event_data', ['created_at']],
  ['event_data', ['website_id']],
  ['event_data', ['website_event_id']],
  ['event_data', ['website_id', 'created_at']],
  ['event_data', ['website_id', 'created_at', 'data_key']],
  ['session_data', ['created_at']],
  ['session_data', ['website_id']],
  ['session_data', ['session_id']],
  ['session_data', ['session_id', 'created_at']],
  ['session_data', ['website_id', 'created_at', 'data_key']],
]

// ─── Umami's constants (src/lib/constants.ts) ──────────────────────────────────────────────────

export const EVENT_TYPE = { pageView: 1, customEvent: 2 } as const

/** Metric types answered from the event row (`getPageviewMetrics`). */
export const EVENT_COLUMNS = [
  'path',
  'entry',
  'exit',
  'referrer',
  'title',
  'query',
  'event',
  'tag',
  'hostname',
]
/** Metric types answered from the session row (`getSessionMetrics`). */
export const SESSION_COLUMNS = ['browser', 'os', 'device', 'screen', 'language', 'country', 'city', 'region']

export const FILTER_COLUMNS: Record<string, string> = {
  path: 'url_path',
  entry: 'url_path',
  exit: 'url_path',
  referrer: 'referrer_domain',
  hostname: 'hostname',
  title: 'page_title',
  query: 'url_query',
  os: 'os',
  browser: 'browser',
  device: 'device',
  country: 'country',
  region: 'region',
  city: 'city',
  language: 'language',
  event: 'event_name',
  tag: 'tag',
  eventType: 'event_type',
  // The UTM filters of later Umami versions (`@umami/api-client` sends them).
  utmSource: 'utm_source',
  utmMedium: 'utm_medium',
  utmCampaign: 'utm_campaign',
  utmContent: 'utm_content',
  utmTerm: 'utm_term',
}

const OPERATORS = { equals: 'eq', notEquals: 'neq', contains: 'c', doesNotContain: 'dnc' } as const
type Operator = (typeof OPERATORS)[keyof typeof OPERATORS]

/**
 * Umami's query filters: the date range, the time bucketing, and column filters in its URL form
 * (`{ path: '/pricing' }` = equals, `{ browser: 'neq.chrome' }`, `{ path: 'c.blog' }`, `dnc.`).
 */
export interface UmamiFilters {
  startDate: Date
  endDate: Date
  unit?: 'minute' | 'hour' | 'day' | 'month' | 'year'
  timezone?: string
  [column: string]: string | Date | undefined
}

interface Filter {
  name: string
  column: string
  operator: Operator
  value: string
}

/** `parseFilterValue` + `filtersObjectToArray` (src/lib/params.ts): `op.value`, else equals. */
function filterArray(filters: Record<string, unknown>): Filter[] {
  const out: Filter[] = []
  for (const [name, raw] of Object.entries(filters)) {
    const column = FILTER_COLUMNS[name]
    if (typeof raw !== 'string' || !column) continue
    const m = /^(eq|neq|c|dnc)\.(.*)$/.exec(raw)
    out.push({ name, column, operator: (m?.[1] as Operator) ?? OPERATORS.equals, value: m ? m[2] : raw })
  }
  return out
}

// ─── src/lib/prisma.ts (Postgres branch) ───────────────────────────────────────────────────────

const DATE_FORMATS: Record<string, string> = {
  minute: 'YYYY-MM-DD HH24:MI:00',
  hour: 'YYYY-MM-DD HH24:00:00',
  day: 'YYYY-MM-DD HH24:00:00',
  month: 'YYYY-MM-01 HH24:00:00',
  year: 'YYYY-01-01 HH24:00:00',
}

function getDateSQL(field: string, unit: string, timezone?: string): string {
  if (timezone) {
    return `to_char(date_trunc('${unit}', ${field} at time zone '${timezone}'), '${DATE_FORMATS[unit]}')`
  }
  return `to_char(date_trunc('${unit}', ${field}), '${DATE_FORMATS[unit]}')`
}

function getTimestampDiffSQL(field1: string, field2: string): string {
  return `floor(extract(epoch from (${field2} - ${field1})))`
}

function mapFilter(column: string, operator: Operator, name: string): string {
  const value = `{{${name}}}`
  switch (operator) {
    case OPERATORS.equals:
      return `${column} = ${value}`
    case OPERATORS.notEquals:
      return `${column} != ${value}`
    case OPERATORS.contains:
      return `${column} ilike ${value}`
    case OPERATORS.doesNotContain:
      return `${column} not ilike ${value}`
  }
}

function getFilterQuery(filters: Record<string, unknown>): string {
  const query: string[] = []
  for (const { name, column, operator } of filterArray(filters)) {
    query.push(`and ${mapFilter(column, operator, name)}`)
    if (name === 'referrer') {
      query.push(
        `and (website_event.referrer_domain != website_event.hostname or website_event.referrer_domain is null)`,
      )
    }
  }
  return query.join('\n')
}

function getQueryParams(filters: Record<string, unknown>): Record<string, unknown> {
  const params: Record<string, unknown> = { ...filters }
  for (const { name, operator, value } of filterArray(filters)) {
    params[name] =
      operator === OPERATORS.contains || operator === OPERATORS.doesNotContain ? `%${value}%` : value
  }
  return params
}

function parseFilters(filters: Record<string, unknown>, options: { joinSession?: boolean } = {}) {
  const joinSession = Object.keys(filters).find((key) => ['referrer', ...SESSION_COLUMNS].includes(key))
  return {
    joinSessionQuery:
      options.joinSession || joinSession
        ? `inner join session on website_event.session_id = session.session_id and website_event.website_id = session.website_id`
        : '',
    filterQuery: getFilterQuery(filters),
    queryParams: getQueryParams(filters),
    // Umami's cohort join is built only from `cohort_*` filters, which these tests do not send.
    cohortQuery: '',
  }
}

/** Umami's `rawQuery`: `{{name}}` / `{{name::type}}` become positional parameters. */
function bind(sql: string, data: Record<string, unknown>): { text: string; values: unknown[] } {
  const values: unknown[] = []
  const text = sql.replaceAll(/\{\{\s*(\w+)(::\w+)?\s*}}/g, (_m, name: string, type?: string) => {
    const v = data[name]
    values.push(v instanceof Date ? v.toISOString() : v)
    return `$${values.length}${type ?? ''}`
  })
  return { text, values }
}

// ─── The reference ─────────────────────────────────────────────────────────────────────────────

export interface WebsiteStats {
  pageviews: number
  visitors: number
  visits: number
  bounces: number
  totaltime: number
}

export interface XY {
  x: string
  y: number
}

export interface MetricRow extends XY {
  /** Only for `city` and `region`: Umami groups them by country too. */
  country?: string | null
}

export class UmamiPostgres {
  private constructor(readonly pool: pg.Pool) {}

  static async open(url: string, options: { max?: number } = {}): Promise<UmamiPostgres> {
    const pool = new pg.Pool({ connectionString: url, max: options.max ?? 2 })
    return new UmamiPostgres(pool)
  }

  async close(): Promise<void> {
    await this.pool.end()
  }

  /** Creates the tables (indexes separately: loading first and indexing after is much faster). */
  async createSchema(): Promise<void> {
    await this.pool.query(SCHEMA)
  }

  async createIndexes(): Promise<void> {
    for (const [table, cols] of INDEXES) {
      await this.pool.query(
        `CREATE INDEX IF NOT EXISTS ${table}_${cols.join('_')}_idx ON ${table} (${cols.join(', ')})`,
      )
    }
    await this.pool.query('ANALYZE session; ANALYZE website_event; ANALYZE event_data; ANALYZE session_data')
  }

  /**
   * Loads Floe rows. Sessions come from `pa_sessions` rows (the first row of a session wins, as
   * Umami's `insert … on conflict do nothing`); events whose session has no row there get one from
   * the event's own (denormalised) attributes.
   */
  async insert(events: readonly EventRow[], sessions: readonly SessionRow[] = []): Promise<void> {
    const sessionRows = new Map<string, SessionRow>()
    for (const s of sessions) if (!sessionRows.has(s.session_id)) sessionRows.set(s.session_id, s)
    for (const e of events) {
      if (sessionRows.has(e.session_id)) continue
      sessionRows.set(e.session_id, {
        session_id: e.session_id,
        site_id: e.site_id,
        created_at: e.event_time,
        updated_at: e.event_time,
        browser: e.browser,
        os: e.os,
        device: e.device,
        screen: e.screen,
        language: e.language,
        country: e.country,
        region: e.region,
        city: e.city,
        distinct_id: e.distinct_id,
        session_data: null,
      })
    }
    // Microsecond precision, as Floe stores it (timestamptz(6) on both sides).
    const iso = (micros: number) =>
      `${new Date(Math.floor(micros / 1000)).toISOString().slice(0, 19)}.${String(((micros % 1e6) + 1e6) % 1e6).padStart(6, '0')}Z`
    const ss = [...sessionRows.values()]
    for (let i = 0; i < ss.length; i += BATCH) {
      const b = ss.slice(i, i + BATCH)
      await this.pool.query(
        `INSERT INTO session (session_id, website_id, browser, os, device, screen, language, country,
           region, city, distinct_id, created_at)
         SELECT * FROM unnest($1::uuid[], $2::uuid[], $3::text[], $4::text[], $5::text[], $6::text[],
           $7::text[], $8::text[], $9::text[], $10::text[], $11::text[], $12::timestamptz[])
         ON CONFLICT (session_id) DO NOTHING`,
        [
          b.map((s) => s.session_id),
          b.map((s) => s.site_id),
          b.map((s) => s.browser),
          b.map((s) => s.os),
          b.map((s) => s.device),
          b.map((s) => s.screen),
          b.map((s) => s.language),
          b.map((s) => s.country),
          b.map((s) => s.region),
          b.map((s) => s.city),
          b.map((s) => s.distinct_id),
          b.map((s) => iso(s.created_at)),
        ],
      )
    }
    const sessionData = ss.flatMap((s) =>
      Object.entries(s.session_data ?? {}).map(
        ([k, v]) => [s.site_id, s.session_id, k, v, s.distinct_id, s.created_at] as const,
      ),
    )
    for (let i = 0; i < sessionData.length; i += BATCH) {
      const b = sessionData.slice(i, i + BATCH)
      await this.pool.query(
        `INSERT INTO session_data (session_data_id, website_id, session_id, data_key, string_value,
           data_type, distinct_id, created_at)
         SELECT gen_random_uuid(), w, s, k, v, 1, d, t
         FROM unnest($1::uuid[], $2::uuid[], $3::text[], $4::text[], $5::text[], $6::timestamptz[]) AS x(w, s, k, v, d, t)`,
        [
          b.map((r) => r[0]),
          b.map((r) => r[1]),
          b.map((r) => r[2]),
          b.map((r) => r[3]),
          b.map((r) => r[4]),
          b.map((r) => iso(r[5])),
        ],
      )
    }
    for (let i = 0; i < events.length; i += BATCH) {
      const b = events.slice(i, i + BATCH)
      const col = (k: keyof EventRow) => b.map((e) => e[k])
      await this.pool.query(
        `INSERT INTO website_event (event_id, website_id, session_id, visit_id, created_at, url_path,
           url_query, utm_source, utm_medium, utm_campaign, utm_content, utm_term, referrer_path,
           referrer_query, referrer_domain, page_title, gclid, fbclid, msclkid, ttclid, li_fat_id,
           twclid, event_type, event_name, tag, hostname)
         SELECT * FROM unnest($1::uuid[], $2::uuid[], $3::uuid[], $4::uuid[], $5::timestamptz[],
           $6::text[], $7::text[], $8::text[], $9::text[], $10::text[], $11::text[], $12::text[],
           $13::text[], $14::text[], $15::text[], $16::text[], $17::text[], $18::text[], $19::text[],
           $20::text[], $21::text[], $22::text[], $23::int[], $24::text[], $25::text[], $26::text[])`,
        [
          col('event_id'),
          col('site_id'),
          col('session_id'),
          col('visit_id'),
          b.map((e) => iso(e.event_time)),
          b.map((e) => e.url_path ?? ''),
          col('url_query'),
          col('utm_source'),
          col('utm_medium'),
          col('utm_campaign'),
          col('utm_content'),
          col('utm_term'),
          col('referrer_path'),
          col('referrer_query'),
          col('referrer_domain'),
          col('page_title'),
          col('gclid'),
          col('fbclid'),
          col('msclkid'),
          col('ttclid'),
          col('li_fat_id'),
          col('twclid'),
          col('event_type'),
          col('event_name'),
          col('tag'),
          col('hostname'),
        ],
      )
    }
    const eventData = events.flatMap((e) =>
      Object.entries(e.event_data ?? {})
        .filter(([, v]) => v !== null)
        .map(([k, v]) => [e.site_id, e.event_id, k, v, e.event_time] as const),
    )
    for (let i = 0; i < eventData.length; i += BATCH) {
      const b = eventData.slice(i, i + BATCH)
      await this.pool.query(
        `INSERT INTO event_data (event_data_id, website_id, website_event_id, data_key, string_value,
           data_type, created_at)
         SELECT gen_random_uuid(), w, e, k, v, 1, t
         FROM unnest($1::uuid[], $2::uuid[], $3::text[], $4::text[], $5::timestamptz[]) AS x(w, e, k, v, t)`,
        [
          b.map((r) => r[0]),
          b.map((r) => r[1]),
          b.map((r) => r[2]),
          b.map((r) => r[3]),
          b.map((r) => iso(r[4])),
        ],
      )
    }
  }

  private async rawQuery<T>(sql: string, data: Record<string, unknown>): Promise<T[]> {
    const { text, values } = bind(sql, data)
    return (await this.pool.query(text, values)).rows as T[]
  }

  /** `getWebsiteStats` (src/queries/sql/getWebsiteStats.ts). */
  async getWebsiteStats(websiteId: string, filters: UmamiFilters): Promise<WebsiteStats> {
    const { filterQuery, joinSessionQuery, cohortQuery, queryParams } = parseFilters({
      ...filters,
      websiteId,
      eventType: EVENT_TYPE.pageView,
    })
    const [row] = await this.rawQuery<Record<string, string | null>>(
      `
    select
      sum(t.c) as "pageviews",
      count(distinct t.session_id) as "visitors",
      count(distinct t.visit_id) as "visits",
      sum(case when t.c = 1 then 1 else 0 end) as "bounces",
      sum(${getTimestampDiffSQL('t.min_time', 't.max_time')}) as "totaltime"
    from (
      select
        website_event.session_id,
        website_event.visit_id,
        count(*) as "c",
        min(website_event.created_at) as "min_time",
        max(website_event.created_at) as "max_time"
      from website_event
        ${joinSessionQuery}
        ${cohortQuery}
      where website_event.website_id = {{websiteId::uuid}}
        and website_event.created_at between {{startDate}} and {{endDate}}
        and event_type = {{eventType}}
        ${filterQuery}
      group by 1, 2
    ) as t
    `,
      queryParams,
    )
    return {
      pageviews: Number(row.pageviews ?? 0),
      visitors: Number(row.visitors ?? 0),
      visits: Number(row.visits ?? 0),
      bounces: Number(row.bounces ?? 0),
      totaltime: Number(row.totaltime ?? 0),
    }
  }

  /** `getPageviewStats` (src/queries/sql/pageviews/getPageviewStats.ts): pageviews per time bucket. */
  async getPageviewStats(websiteId: string, filters: UmamiFilters): Promise<XY[]> {
    const { timezone = 'utc', unit = 'day' } = filters
    const { filterQuery, cohortQuery, joinSessionQuery, queryParams } = parseFilters({
      ...filters,
      websiteId,
      eventType: EVENT_TYPE.pageView,
    })
    return xy(
      await this.rawQuery(
        `
    select
      ${getDateSQL('website_event.created_at', unit, timezone)} x,
      count(*) y
    from website_event
      ${joinSessionQuery}
      ${cohortQuery}
    where website_event.website_id = {{websiteId::uuid}}
      and website_event.created_at between {{startDate}} and {{endDate}}
      and event_type = {{eventType}}
      ${filterQuery}
    group by 1
    order by 1
    `,
        queryParams,
      ),
    )
  }

  /** `getSessionStats` (src/queries/sql/sessions/getSessionStats.ts): visitors per time bucket. */
  async getSessionStats(websiteId: string, filters: UmamiFilters): Promise<XY[]> {
    const { timezone = 'utc', unit = 'day' } = filters
    const { filterQuery, joinSessionQuery, cohortQuery, queryParams } = parseFilters({
      ...filters,
      websiteId,
      eventType: EVENT_TYPE.pageView,
    })
    return xy(
      await this.rawQuery(
        `
    select
      ${getDateSQL('website_event.created_at', unit, timezone)} x,
      count(distinct website_event.session_id) y
    from website_event
      ${joinSessionQuery}
      ${cohortQuery}
    where website_event.website_id = {{websiteId::uuid}}
      and website_event.created_at between {{startDate}} and {{endDate}}
      and event_type = {{eventType}}
      ${filterQuery}
    group by 1
    order by 1
    `,
        queryParams,
      ),
    )
  }

  /**
   * The website metrics route: session types through `getSessionMetrics`, the others through
   * `getPageviewMetrics`; `limit` 500 and `offset` 0 as Umami's defaults.
   */
  async getMetrics(
    websiteId: string,
    type: string,
    filters: UmamiFilters,
    page: { limit?: number; offset?: number } = {},
  ): Promise<MetricRow[]> {
    if (SESSION_COLUMNS.includes(type)) return this.getSessionMetrics(websiteId, type, filters, page)
    if (EVENT_COLUMNS.includes(type)) return this.getPageviewMetrics(websiteId, type, filters, page)
    throw new Error(`metric type ${type} is not in this reference`)
  }

  /** `getPageviewMetrics` (src/queries/sql/pageviews/getPageviewMetrics.ts). */
  async getPageviewMetrics(
    websiteId: string,
    type: string,
    filters: UmamiFilters,
    { limit = 500, offset = 0 }: { limit?: number; offset?: number } = {},
  ): Promise<MetricRow[]> {
    let column = FILTER_COLUMNS[type] || type
    const { filterQuery, joinSessionQuery, cohortQuery, queryParams } = parseFilters(
      {
        ...filters,
        websiteId,
        eventType: column === 'event_name' ? EVENT_TYPE.customEvent : EVENT_TYPE.pageView,
      },
      { joinSession: SESSION_COLUMNS.includes(type) },
    )
    let entryExitQuery = ''
    let excludeDomain = ''
    if (column === 'referrer_domain') {
      excludeDomain = `and website_event.referrer_domain != website_event.hostname
      and website_event.referrer_domain != ''`
    }
    if (type === 'entry' || type === 'exit') {
      const order = type === 'entry' ? 'asc' : 'desc'
      column = `x.${column}`
      entryExitQuery = `
      join (
        select distinct on (visit_id)
          visit_id,
          url_path
        from website_event
        where website_event.website_id = {{websiteId::uuid}}
          and website_event.created_at between {{startDate}} and {{endDate}}
          and event_type = {{eventType}}
        order by visit_id, created_at ${order}
      ) x
      on x.visit_id = website_event.visit_id
    `
    }
    return xy(
      await this.rawQuery(
        `
    select ${column} x,
      count(distinct website_event.session_id) as y
    from website_event
    ${joinSessionQuery}
    ${cohortQuery}
    ${entryExitQuery}
    where website_event.website_id = {{websiteId::uuid}}
      and website_event.created_at between {{startDate}} and {{endDate}}
      and event_type = {{eventType}}
      ${excludeDomain}
      ${filterQuery}
    group by 1
    order by 2 desc
    limit ${limit}
    offset ${offset}
    `,
        queryParams,
      ),
    )
  }

  /** `getSessionMetrics` (src/queries/sql/sessions/getSessionMetrics.ts). */
  async getSessionMetrics(
    websiteId: string,
    type: string,
    filters: UmamiFilters,
    { limit = 500, offset = 0 }: { limit?: number; offset?: number } = {},
  ): Promise<MetricRow[]> {
    let column = FILTER_COLUMNS[type] || type
    const { filterQuery, joinSessionQuery, cohortQuery, queryParams } = parseFilters(
      { ...filters, websiteId, eventType: EVENT_TYPE.pageView },
      { joinSession: SESSION_COLUMNS.includes(type) },
    )
    const includeCountry = column === 'city' || column === 'region'
    if (type === 'language') column = `lower(left(${type}, 2))`
    const rows = await this.rawQuery<{ x: string; y: string; country?: string }>(
      `
    select 
      ${column} x,
      count(distinct website_event.session_id) y
      ${includeCountry ? ', country' : ''}
    from website_event
    ${cohortQuery}
    ${joinSessionQuery}
    where website_event.website_id = {{websiteId::uuid}}
      and website_event.created_at between {{startDate}} and {{endDate}}
      and website_event.event_type = {{eventType}}
    ${filterQuery}
    group by 1 
    ${includeCountry ? ', 3' : ''}
    order by 2 desc
    limit ${limit}
    offset ${offset}
    `,
      queryParams,
    )
    return rows.map((r) => ({ x: r.x, y: Number(r.y), ...(includeCountry ? { country: r.country } : {}) }))
  }
}

const BATCH = 5000

function xy(rows: Array<Record<string, unknown>>): XY[] {
  return rows.map((r) => ({ x: r.x as string, y: Number(r.y) }))
}

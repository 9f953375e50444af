/**
 * Umami's filter parameters (`src/lib/params.ts` `parseFilterValue`, `src/lib/prisma.ts`
 * `mapFilter` / `getFilterQuery`) as DuckDB SQL over `events`:
 *
 * - `name=eq.a,b` or `name=a,b`: the column equals one of the values (`= ANY`);
 * - `name=neq.a,b`: equals none of them (`!= ALL`; a NULL column matches neither, as in SQL);
 * - `name=c.text` / `name=dnc.text`: contains / does not contain, case-insensitive (`ilike %text%`);
 * - `match=any` ORs the filters (event type always ANDed), default all;
 * - a `referrer` filter also leaves out self-referrals (`referrer_domain != hostname`), as Umami's.
 *
 * Values are bound parameters (`$f0`, `$f1`, …), never spliced into the SQL.
 */
import type { SqlParams } from '../query-layer.ts'

/** Umami's FILTER_COLUMNS: parameter name → pa_events column (same names as Umami's table). */
export const FILTER_COLUMNS = {
  path: 'url_path',
  entry: 'url_path',
  exit: 'url_path',
  referrer: 'referrer_domain',
  domain: 'referrer_domain',
  hostname: 'hostname',
  distinctId: 'distinct_id',
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
  utmSource: 'utm_source',
  utmMedium: 'utm_medium',
  utmCampaign: 'utm_campaign',
  utmContent: 'utm_content',
  utmTerm: 'utm_term',
  screen: 'screen',
} as const

export type FilterName = keyof typeof FILTER_COLUMNS

/** The parameters Umami's clients send as filters (entry/exit are metric types, not filters). */
export const FILTER_PARAMS: readonly FilterName[] = (Object.keys(FILTER_COLUMNS) as FilterName[]).filter(
  (k) => k !== 'entry' && k !== 'exit' && k !== 'domain' && k !== 'screen',
)

export type Operator = 'eq' | 'neq' | 'c' | 'dnc'

export interface Filter {
  name: FilterName
  column: string
  operator: Operator
  /** eq/neq: the values; c/dnc: one text. */
  values: string[]
}

const OPERATOR = /^(eq|neq|c|dnc)\.(.*)$/s

/** Umami's `parseFilterValue`: `op.value`; eq/neq split on commas; no known prefix = eq. */
export function parseFilter(name: FilterName, raw: string): Filter {
  const m = OPERATOR.exec(raw)
  const operator = (m?.[1] ?? 'eq') as Operator
  const value = m ? m[2] : raw
  const values = operator === 'eq' || operator === 'neq' ? value.split(',') : [value]
  return { name, column: FILTER_COLUMNS[name], operator, values }
}

export function parseFilters(query: Record<string, unknown>): Filter[] {
  const out: Filter[] = []
  for (const name of FILTER_PARAMS) {
    const raw = query[name]
    if (typeof raw === 'string' && raw !== '') out.push(parseFilter(name, raw))
  }
  return out
}

export interface FilterSql {
  /** `AND …` clauses (empty string when there are no filters). */
  where: string
  params: SqlParams
  /** Columns of pa_events the clauses read. */
  columns: string[]
}

/** SQL for `filters`; `prefix` names the bound parameters (distinct per query part). */
export function filterSql(filters: readonly Filter[], match: 'all' | 'any' = 'all', prefix = 'f'): FilterSql {
  const params: SqlParams = {}
  const columns = new Set<string>()
  const ands: string[] = []
  const ors: string[] = []
  filters.forEach((f, i) => {
    const p = `${prefix}${i}`
    columns.add(f.column)
    let clause: string
    if (f.name === 'eventType') {
      const ints = f.values.map((v) => Number(v)).filter((n) => Number.isInteger(n))
      params[p] = ints.map(String)
      clause =
        f.operator === 'neq'
          ? `NOT list_contains(CAST($${p} AS INTEGER[]), ${f.column})`
          : `list_contains(CAST($${p} AS INTEGER[]), ${f.column})`
    } else if (f.operator === 'eq' || f.operator === 'neq') {
      params[p] = f.values
      clause =
        f.operator === 'eq'
          ? `list_contains(CAST($${p} AS VARCHAR[]), ${f.column})`
          : `(${f.column} IS NOT NULL AND NOT list_contains(CAST($${p} AS VARCHAR[]), ${f.column}))`
    } else {
      params[p] = `%${f.values[0]}%`
      clause = f.operator === 'c' ? `${f.column} ILIKE $${p}` : `${f.column} NOT ILIKE $${p}`
    }
    if (f.name === 'eventType' || match === 'all') ands.push(clause)
    else ors.push(clause)
    if (f.name === 'referrer') {
      columns.add('hostname')
      ands.push('referrer_domain IS DISTINCT FROM hostname')
    }
  })
  const parts = ands.map((c) => `AND ${c}`)
  if (ors.length) parts.unshift(`AND (${ors.join(' OR ')})`)
  return { where: parts.join(' '), params, columns: [...columns] }
}

/**
 * The /v1 reporting API's query parameters, checked once into a typed request: a bad value is a
 * `ValidationError` naming the parameter (400). The JSON schemas of the routes (`routes.ts`) check
 * types and enumerations first; what a schema cannot say (dates, order of `from`/`to`, the span,
 * time zones, list members) is checked here.
 */
import { ValidationError } from '../../errors.ts'
import { checkTimezone } from '../range.ts'

/** What /v1 can count. All are over pageviews (event_type 1), as Umami's website stats are. */
export const V1_METRICS = ['pageviews', 'unique_visitors', 'sessions', 'bounces', 'total_time'] as const
export type V1Metric = (typeof V1_METRICS)[number]

/**
 * The dimensions /v1 can group by, each a column of `pa_events` (`campaign` is `campaign_id` when
 * the table has that column, else `utm_campaign`).
 */
export const V1_DIMENSIONS = {
  path: 'url_path',
  query: 'url_query',
  title: 'page_title',
  hostname: 'hostname',
  referrer: 'referrer_domain',
  utm_source: 'utm_source',
  utm_medium: 'utm_medium',
  utm_campaign: 'utm_campaign',
  utm_content: 'utm_content',
  utm_term: 'utm_term',
  campaign: 'campaign',
  browser: 'browser',
  os: 'os',
  device: 'device',
  screen: 'screen',
  language: 'language',
  country: 'country',
  region: 'region',
  city: 'city',
} as const
export type V1Dimension = keyof typeof V1_DIMENSIONS

export type V1Interval = 'day' | 'hour'

export interface V1Range {
  /** Inclusive start. */
  from: Date
  /** Inclusive end (a date-only `to` means the end of that day). */
  to: Date
  timezone: string
}

const DATE_ONLY = /^\d{4}-\d{2}-\d{2}$/
const DATE_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,6})?)?(Z|[+-]\d{2}:\d{2})$/

/**
 * `from`/`to` are `YYYY-MM-DD` (UTC days; `to` covers its whole day) or RFC 3339 instants with an
 * offset. `to` before `from`, or a span over `maxSpanDays`, is a 400 naming `to`.
 */
export function parseRange(q: { from: string; to: string; timezone?: string }, maxSpanDays: number): V1Range {
  const from = parseInstant('from', q.from, 'start')
  const to = parseInstant('to', q.to, 'end')
  if (to.getTime() < from.getTime()) throw new ValidationError('to', `must not be before from (${q.from})`)
  const spanDays = (to.getTime() - from.getTime()) / 86_400_000
  if (spanDays > maxSpanDays)
    throw new ValidationError(
      'to',
      `the range spans ${Math.ceil(spanDays)} days; at most ${maxSpanDays} are allowed`,
    )
  return { from, to, timezone: checkTimezone(q.timezone) }
}

function parseInstant(name: string, value: string, side: 'start' | 'end'): Date {
  let ms: number
  if (DATE_ONLY.test(value)) {
    ms = Date.parse(`${value}T00:00:00Z`) + (side === 'end' ? 86_400_000 - 1 : 0)
  } else if (DATE_TIME.test(value)) {
    ms = Date.parse(value)
  } else {
    throw new ValidationError(
      name,
      `expected YYYY-MM-DD or an RFC 3339 date-time with offset, got ${JSON.stringify(value)}`,
    )
  }
  // Date.parse accepts 2026-02-31 as March 3rd; a round trip catches it.
  if (!Number.isFinite(ms) || (DATE_ONLY.test(value) && new Date(ms).toISOString().slice(0, 10) !== value))
    throw new ValidationError(name, `not a valid date: ${JSON.stringify(value)}`)
  return new Date(ms)
}

/** A comma-separated list whose members must come from `allowed`; duplicates are dropped. */
export function parseList<T extends string>(
  name: string,
  value: string | undefined,
  allowed: readonly T[],
  fallback: readonly T[],
): T[] {
  if (value === undefined) return [...fallback]
  const items = value.split(',').map((s) => s.trim())
  const out: T[] = []
  for (const item of items) {
    if (!(allowed as readonly string[]).includes(item))
      throw new ValidationError(
        name,
        `unknown value ${JSON.stringify(item)} (allowed: ${allowed.join(', ')})`,
      )
    if (!out.includes(item as T)) out.push(item as T)
  }
  if (out.length === 0) throw new ValidationError(name, 'must name at least one value')
  return out
}

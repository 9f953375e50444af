/**
 * Date ranges, time units and time zones of reporting requests, validated once (400 naming the
 * parameter), as Umami's `getRequestDateRange` / `getMinimumUnit` / `getCompareDate` define them:
 *
 * - the range is `startAt`..`endAt` (Unix ms, inclusive) or `startDate`..`endDate` (ISO 8601);
 * - `unit` is one of minute, hour, day, month, year. Umami replaces a unit too fine for the range
 *   with the smallest allowed one (at most an hour of minutes, 48 hours of hours, 6 months of days,
 *   24 months of months) and so does Floe; an unknown unit is a 400;
 * - `timezone` is an IANA zone name (default UTC);
 * - the comparison period is the same span just before (`prev`) or a year before (`yoy`).
 */
import { ValidationError } from '../errors.ts'

export const TIME_UNITS = ['minute', 'hour', 'day', 'month', 'year'] as const
export type TimeUnit = (typeof TIME_UNITS)[number]

export interface DateRange {
  startDate: Date
  endDate: Date
  unit: TimeUnit
  timezone: string
}

export interface RangeParams {
  startAt?: string | number
  endAt?: string | number
  startDate?: string
  endDate?: string
  unit?: string
  timezone?: string
}

function instant(value: string | number | undefined, field: string, required: boolean): Date | undefined {
  if (value === undefined || value === '') {
    if (required) throw new ValidationError(field, 'is required')
    return undefined
  }
  const s = String(value)
  const d = /^-?\d+$/.test(s) ? new Date(Number(s)) : new Date(s)
  if (Number.isNaN(d.getTime()) || d.getTime() < 0 || d.getTime() > 8_640_000_000_000)
    throw new ValidationError(field, `must be a Unix time in milliseconds or an ISO 8601 date, got "${s}"`)
  return d
}

const ZONE = /^[A-Za-z][A-Za-z0-9_+\-/]{0,63}$/

/** The zone name if the runtime (and so DuckDB's ICU) knows it; otherwise 400 naming `field`. */
export function checkTimezone(tz: string | undefined, field = 'timezone'): string {
  if (tz === undefined || tz === '') return 'UTC'
  if (!ZONE.test(tz)) throw new ValidationError(field, `unknown time zone "${tz}"`)
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: tz })
  } catch {
    throw new ValidationError(field, `unknown time zone "${tz}"`)
  }
  return tz
}

function calendarMonths(a: Date, b: Date): number {
  return (b.getUTCFullYear() - a.getUTCFullYear()) * 12 + (b.getUTCMonth() - a.getUTCMonth())
}

/** Umami's `getMinimumUnit`. */
export function minimumUnit(start: Date, end: Date): TimeUnit {
  const ms = end.getTime() - start.getTime()
  if (ms <= 60 * 60_000) return 'minute'
  if (ms <= 48 * 3_600_000) return 'hour'
  if (calendarMonths(start, end) <= 6) return 'day'
  if (calendarMonths(start, end) <= 24) return 'month'
  return 'year'
}

export function parseDateRange(
  q: RangeParams,
  maxSpanDays: number,
  o: { required?: boolean; defaultSpanMs?: number } = {},
): DateRange {
  const startField = q.startAt !== undefined ? 'startAt' : q.startDate !== undefined ? 'startDate' : 'startAt'
  const endField = q.endAt !== undefined ? 'endAt' : q.endDate !== undefined ? 'endDate' : 'endAt'
  const required = o.required ?? true
  let start = instant(q.startAt ?? q.startDate, startField, required)
  let end = instant(q.endAt ?? q.endDate, endField, required)
  end ??= new Date()
  start ??= new Date(end.getTime() - (o.defaultSpanMs ?? 86_400_000))
  if (end.getTime() < start.getTime())
    throw new ValidationError(endField, `must not be before ${startField} (${start.toISOString()})`)
  if (end.getTime() - start.getTime() > maxSpanDays * 86_400_000)
    throw new ValidationError(
      endField,
      `the range spans more than ${maxSpanDays} days (FLOE_REPORT_MAX_SPAN_DAYS); narrow it`,
    )
  const timezone = checkTimezone(q.timezone)
  let unit: TimeUnit
  const min = minimumUnit(start, end)
  if (q.unit === undefined || q.unit === '') unit = min
  else if (!(TIME_UNITS as readonly string[]).includes(q.unit))
    throw new ValidationError('unit', `must be one of ${TIME_UNITS.join(', ')}, got "${q.unit}"`)
  else {
    // Umami's getAllowedUnits: from the minimum unit up (a year minimum still allows month).
    const allowedFrom = TIME_UNITS.indexOf(min === 'year' ? 'month' : min)
    unit = TIME_UNITS.indexOf(q.unit as TimeUnit) >= allowedFrom ? (q.unit as TimeUnit) : min
  }
  return { startDate: start, endDate: end, unit, timezone }
}

/** Umami's `getCompareDate`: the span just before (`prev`) or one year before (`yoy`). */
export function compareRange(range: DateRange, compare: 'prev' | 'yoy'): DateRange {
  if (compare === 'yoy') {
    const back = (d: Date) => {
      const x = new Date(d)
      x.setUTCFullYear(x.getUTCFullYear() - 1)
      return x
    }
    return { ...range, startDate: back(range.startDate), endDate: back(range.endDate) }
  }
  // differenceInMinutes truncates toward zero.
  const minutes = Math.trunc((range.endDate.getTime() - range.startDate.getTime()) / 60_000)
  const shift = minutes * 60_000
  return {
    ...range,
    startDate: new Date(range.startDate.getTime() - shift),
    endDate: new Date(range.endDate.getTime() - shift),
  }
}

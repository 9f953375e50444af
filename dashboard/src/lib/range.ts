/**
 * Date ranges as Umami's date picker has them, in the browser's time zone (Umami's default: the
 * viewer's zone). A range resolves to epoch milliseconds `startAt`/`endAt` (what the website API
 * takes) and the chart's unit.
 */
export const RANGES = [
  ['today', 'Today'],
  ['24h', 'Last 24 hours'],
  ['7d', 'Last 7 days'],
  ['30d', 'Last 30 days'],
  ['90d', 'Last 90 days'],
  ['custom', 'Custom range'],
] as const

export type RangeKey = (typeof RANGES)[number][0]
export type Unit = 'hour' | 'day'
export type Compare = 'prev' | 'yoy'

export interface ResolvedRange {
  startAt: number
  endAt: number
  unit: Unit
}

const HOUR = 3_600_000
const DAY = 24 * HOUR

export const timezone = (): string => Intl.DateTimeFormat().resolvedOptions().timeZone

function startOfDay(d: Date): Date {
  return new Date(d.getFullYear(), d.getMonth(), d.getDate())
}

function addDays(d: Date, n: number): Date {
  return new Date(d.getFullYear(), d.getMonth(), d.getDate() + n)
}

/** `YYYY-MM-DD` in local time (the custom range's inputs, and day buckets). */
export function isoDay(d: Date): string {
  const p = (n: number) => String(n).padStart(2, '0')
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())}`
}

export function parseDay(s: string | undefined): Date | null {
  const m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(s ?? '')
  if (!m) return null
  const d = new Date(Number(m[1]), Number(m[2]) - 1, Number(m[3]))
  return isoDay(d) === s ? d : null
}

export function resolveRange(key: RangeKey, from?: string, to?: string, now = new Date()): ResolvedRange {
  const today = startOfDay(now)
  const endOfToday = addDays(today, 1).getTime() - 1
  switch (key) {
    case 'today':
      return { startAt: today.getTime(), endAt: endOfToday, unit: 'hour' }
    case '24h': {
      const hour = new Date(now)
      hour.setMinutes(0, 0, 0)
      return { startAt: hour.getTime() - 23 * HOUR, endAt: hour.getTime() + HOUR - 1, unit: 'hour' }
    }
    case 'custom': {
      const a = parseDay(from) ?? today
      const b = parseDay(to) ?? a
      const [lo, hi] = a <= b ? [a, b] : [b, a]
      const endAt = addDays(hi, 1).getTime() - 1
      return { startAt: lo.getTime(), endAt, unit: endAt - lo.getTime() < 2 * DAY ? 'hour' : 'day' }
    }
    default: {
      const days = Number(key.slice(0, -1))
      return { startAt: addDays(today, 1 - days).getTime(), endAt: endOfToday, unit: 'day' }
    }
  }
}

/** Start of every chart bucket in the range (local hours or days), so empty buckets show as 0. */
export function bucketStarts(r: ResolvedRange): number[] {
  const out: number[] = []
  if (r.unit === 'hour') {
    for (let t = r.startAt; t <= r.endAt; t += HOUR) out.push(t)
  } else {
    for (let d = startOfDay(new Date(r.startAt)); d.getTime() <= r.endAt; d = addDays(d, 1))
      out.push(d.getTime())
  }
  return out
}

/** The key of the bucket a local time falls in: `YYYY-MM-DD` or `YYYY-MM-DD HH`. */
export function bucketKey(t: number, unit: Unit): string {
  const d = new Date(t)
  const day = isoDay(d)
  return unit === 'day' ? day : `${day} ${String(d.getHours()).padStart(2, '0')}`
}

/**
 * The same key from a series point's `x`, which Umami's API gives as a time-zone-local
 * `YYYY-MM-DD HH:mm:ss` (an ISO `T` separator is accepted too).
 */
export function keyOfX(x: string, unit: Unit): string {
  const s = x.replace('T', ' ')
  return unit === 'day' ? s.slice(0, 10) : s.slice(0, 13)
}

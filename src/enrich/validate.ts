/**
 * Validation of `/api/send` bodies with Umami v3's zod rules, hand-coded because
 * the rules are few and the errors must name the field (`payload.website`): unknown keys are
 * dropped, `text/plain` JSON is accepted by the route. Where Umami would accept a value and then
 * fail with a 500 at insert (distinct id > 50, overrides > varchar), Floe answers 400 instead.
 */
import { ValidationError } from '../errors.ts'

export type SendType = 'event' | 'identify' | 'performance'

export interface SendPayload {
  website?: string
  link?: string
  pixel?: string
  data?: Record<string, unknown>
  hostname?: string
  language?: string
  referrer?: string
  screen?: string
  title?: string
  url?: string
  name?: string
  tag?: string
  ip?: string
  userAgent?: string
  /** Seconds since epoch. */
  timestamp?: number
  id?: string
  browser?: string
  os?: string
  device?: string
  lcp?: number
  inp?: number
  fcp?: number
  ttfb?: number
  cls?: number
}

export interface SendBody {
  type: SendType
  payload: SendPayload
}

// zod v4 `z.uuid()`: RFC 9562 versions 1-8, variant 8/9/a/b, plus the nil and max UUIDs.
const UUID =
  /^([0-9a-f]{8}-[0-9a-f]{4}-[1-8][0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}|0{8}-0{4}-0{4}-0{4}-0{12}|f{8}-f{4}-f{4}-f{4}-f{12})$/i

/** Max lengths: Umami's zod limits, then (marked) Floe limits where Umami's DB column would fail. */
const STRING_LIMITS: Record<string, number | undefined> = {
  hostname: 100,
  language: 35,
  screen: 11,
  name: 50,
  tag: 50,
  title: 10_000,
  ip: 100, // Floe
  userAgent: 1000, // Floe (ua-parser-js reads only the first 500 anyway)
  id: 50, // Floe: Umami's distinct_id varchar(50)
  browser: 50, // Floe
  os: 50, // Floe
  device: 50, // Floe
}

const STRING_LIMIT_ENTRIES = Object.entries(STRING_LIMITS)
const URL_FIELDS = ['url', 'referrer'] as const
const URL_MAX = 10_000 // Floe: stored values are cut at 500 anyway
const VITALS = Object.entries({ lcp: 60000, inp: 60000, fcp: 60000, ttfb: 60000, cls: 100 })

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v)
}

export function validateSendBody(body: unknown): SendBody {
  if (!isRecord(body)) throw new ValidationError('body', 'must be a JSON object {type, payload}')
  const type = body.type
  if (type !== 'event' && type !== 'identify' && type !== 'performance')
    throw new ValidationError('type', 'must be one of "event", "identify", "performance"')
  const raw = body.payload
  if (!isRecord(raw)) throw new ValidationError('payload', 'must be an object')

  const out: SendPayload = {}
  for (const key of ['website', 'link', 'pixel'] as const) {
    const v = raw[key]
    if (v === undefined) continue
    if (typeof v !== 'string' || !UUID.test(v)) throw new ValidationError(`payload.${key}`, 'Invalid UUID')
    // As sent: Umami hashes the raw string into the session id (an uppercase id gives another
    // session); process.ts lowercases it for the site lookup and the site_id column.
    out[key] = v
  }
  if ([out.website, out.link, out.pixel].filter(Boolean).length !== 1)
    throw new ValidationError('payload.website', 'Exactly one of website, link, or pixel must be provided')

  for (const [key, max] of STRING_LIMIT_ENTRIES) {
    const v = raw[key]
    if (v === undefined) continue
    if (typeof v !== 'string') throw new ValidationError(`payload.${key}`, 'must be a string')
    if (max !== undefined && v.length > max)
      throw new ValidationError(`payload.${key}`, `must be at most ${max} characters`)
    ;(out as Record<string, unknown>)[key] = v
  }
  for (const key of URL_FIELDS) {
    const v = raw[key]
    if (v === undefined) continue
    if (typeof v !== 'string') throw new ValidationError(`payload.${key}`, 'must be a string')
    if (v.length > URL_MAX)
      throw new ValidationError(`payload.${key}`, `must be at most ${URL_MAX} characters`)
    if (!URL.canParse(v, 'https://localhost'))
      throw new ValidationError(`payload.${key}`, 'must be a URL or a path')
    out[key] = v
  }
  if (raw.data !== undefined) {
    if (!isRecord(raw.data)) throw new ValidationError('payload.data', 'must be an object')
    out.data = raw.data
  }
  if (raw.timestamp !== undefined) {
    // z.coerce.number().int(): Number(v), then a safe integer; Floe also bounds it to real dates.
    const n = typeof raw.timestamp === 'object' && raw.timestamp !== null ? NaN : Number(raw.timestamp)
    if (!Number.isSafeInteger(n))
      throw new ValidationError('payload.timestamp', 'must be an integer (seconds)')
    if (n < 0 || n > 8_000_000_000) throw new ValidationError('payload.timestamp', 'is out of range')
    // Umami tests `timestamp ?` : 0 (also what null, '' and false coerce to) means "not sent".
    if (n !== 0) out.timestamp = n
  }
  for (const [key, max] of VITALS) {
    const v = raw[key]
    if (v === undefined) continue
    if (typeof v !== 'number' || !Number.isFinite(v) || v < 0 || v > max)
      throw new ValidationError(`payload.${key}`, `must be a number between 0 and ${max}`)
    ;(out as Record<string, unknown>)[key] = v
  }
  return { type, payload: out }
}

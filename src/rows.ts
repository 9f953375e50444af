/**
 * Rows as they travel from enrich → buffer → write. Plain, JSON-safe objects whose keys are the
 * column names of `schemas/pa_events.json`, `schemas/pa_sessions.json` and `schemas/pa_rejected.json`.
 *
 * Timestamps (`timestamptz` columns) are **microseconds since the Unix epoch, UTC, as a JS number**.
 * A double holds every integer up to 2^53 exactly, i.e. microsecond timestamps until year 2255,
 * and keeps rows JSON-serialisable for the write-ahead log without BigInt handling.
 * Optional columns are `null` when absent (never `undefined`), maps are plain string→string objects.
 */

export type TableName = 'pa_events' | 'pa_sessions' | 'pa_rejected'

export const TABLE_NAMES: readonly TableName[] = ['pa_events', 'pa_sessions', 'pa_rejected']

/** Microseconds since 1970-01-01T00:00:00Z. */
export type Micros = number

// Type aliases (not interfaces) so rows are assignable to the generic `Row` record type.
export type EventRow = {
  site_id: string
  event_id: string
  session_id: string
  visit_id: string
  event_time: Micros
  received_at: Micros
  event_type: number
  event_name: string | null
  url_path: string | null
  url_query: string | null
  page_title: string | null
  hostname: string | null
  referrer_path: string | null
  referrer_query: string | null
  referrer_domain: string | null
  utm_source: string | null
  utm_medium: string | null
  utm_campaign: string | null
  utm_content: string | null
  utm_term: string | null
  gclid: string | null
  fbclid: string | null
  msclkid: string | null
  ttclid: string | null
  li_fat_id: string | null
  twclid: string | null
  tag: string | null
  distinct_id: string | null
  browser: string | null
  os: string | null
  device: string | null
  screen: string | null
  language: string | null
  country: string | null
  region: string | null
  city: string | null
  event_data: Record<string, string> | null
  /** Added by schema evolution (/v1/events); rows from older WAL records may lack the three. */
  campaign_id?: string | null
  /** `umami` (/api/send, /api/batch) or `v1` (/v1/events). */
  source?: EventSource | null
  /** Kept fraction when sampled (0 < rate <= 1); null = not sampled. */
  sample_rate?: number | null
}

/** Which API received an event (`pa_events.source`). */
export type EventSource = 'umami' | 'v1'

export type SessionRow = {
  session_id: string
  site_id: string
  created_at: Micros
  updated_at: Micros
  browser: string | null
  os: string | null
  device: string | null
  screen: string | null
  language: string | null
  country: string | null
  region: string | null
  city: string | null
  distinct_id: string | null
  session_data: Record<string, string> | null
}

/**
 * A refused event (`pa_rejected`, the dead-letter table; docs/dead-letter.md): why, when, where,
 * and the event as sent with every IP address removed.
 */
export type RejectedRow = {
  rejected_id: string
  site_id: string
  received_at: Micros
  endpoint: string
  reason: RejectedReason
  field: string | null
  message: string | null
  event_id: string | null
  /** JSON text of the event (IPs removed). */
  payload: string
  headers: Record<string, string> | null
}

/** Why an event went to `pa_rejected`. */
export type RejectedReason = 'invalid' | 'signature' | 'sampled_out'

export interface RowsByTable {
  pa_events: EventRow[]
  pa_sessions: SessionRow[]
  /** Refused events, written through the same WAL record as the request's accepted rows. */
  pa_rejected?: RejectedRow[]
}

/** A row of any Floe table; the write side treats rows generically through the table schema. */
export type Row = Record<string, unknown>

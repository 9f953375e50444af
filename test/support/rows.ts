/**
 * Deterministic sample rows for writer tests and benches: several sites and days (so an append
 * spans partitions), microsecond timestamps with a sub-millisecond part, nulls, unicode, and maps
 * that are null, empty or hold several keys. eventRow()/sessionRow() are the one builder of a single
 * hand-made row for tests (every nullable column null unless given).
 */
import { randomUUID } from 'node:crypto'
import type { EventRow, SessionRow } from '../../src/rows.ts'

export const SITES = ['0b1c6a3e-1f0e-4c57-9d0e-5d3c2c1b0a01', '7f2e9d8c-6b5a-4c3d-8e1f-0a9b8c7d6e02']
/** 2026-11-26T23:59:58.123457Z in µs: rows straddle a day boundary. */
export const T0 = 1_795_737_598_123_457

/** Client columns of a typical desktop visit, shared by pa_events and pa_sessions rows. */
export const DESKTOP_CLIENT = {
  browser: 'chrome',
  os: 'Linux',
  device: 'desktop',
  screen: '1920x1080',
  language: 'en-US',
  country: 'DE',
} as const

/** The client columns empty (no user agent, screen, language or geo), as eventRow()/sessionRow() default. */
const NO_CLIENT = {
  browser: null,
  os: null,
  device: null,
  screen: null,
  language: null,
  country: null,
  region: null,
  city: null,
} as const

/**
 * One pa_events row: every nullable column null, a fresh event id, `SITES[0]` and `T0`; `fields`
 * sets what the test cares about. The one builder for hand-made event rows in tests.
 */
export function eventRow(fields: Partial<EventRow> = {}): EventRow {
  return {
    site_id: SITES[0],
    event_id: randomUUID(),
    session_id: sampleUuid(1000, 0),
    visit_id: sampleUuid(2000, 0),
    event_time: T0,
    received_at: T0,
    event_type: 1,
    event_name: null,
    url_path: '/',
    url_query: null,
    page_title: null,
    hostname: 'example.com',
    referrer_path: null,
    referrer_query: null,
    referrer_domain: null,
    utm_source: null,
    utm_medium: null,
    utm_campaign: null,
    utm_content: null,
    utm_term: null,
    gclid: null,
    fbclid: null,
    msclkid: null,
    ttclid: null,
    li_fat_id: null,
    twclid: null,
    tag: null,
    distinct_id: null,
    ...NO_CLIENT,
    event_data: null,
    campaign_id: null,
    source: null,
    sample_rate: null,
    ...fields,
  }
}

/** One pa_sessions row, like eventRow(): nullable columns null, `fields` sets the rest. */
export function sessionRow(fields: Partial<SessionRow> = {}): SessionRow {
  return {
    session_id: sampleUuid(1000, 0),
    site_id: SITES[0],
    created_at: T0,
    updated_at: T0,
    ...NO_CLIENT,
    distinct_id: null,
    session_data: null,
    ...fields,
  }
}

function hex(n: number, width: number): string {
  return (n >>> 0).toString(16).padStart(width, '0').slice(-width)
}

/** A UUID-shaped id that is unique per (writer, i). */
export function sampleUuid(writer: number, i: number): string {
  return `${hex(writer, 8)}-${hex(i >>> 16, 4)}-4${hex(i, 3)}-8${hex(writer * 7 + i, 3)}-${hex(i * 2654435761, 12)}`
}

export function sampleEvents(count: number, writer = 0, start = 0): EventRow[] {
  const rows: EventRow[] = []
  for (let k = 0; k < count; k++) {
    const i = start + k
    const t = T0 + i * 1_000_003 + writer // crosses midnight after ~2 s worth of rows
    rows.push(
      eventRow({
        site_id: SITES[i % SITES.length],
        event_id: sampleUuid(writer, i),
        session_id: sampleUuid(writer + 1000, Math.floor(i / 5)),
        visit_id: sampleUuid(writer + 2000, Math.floor(i / 10)),
        event_time: t,
        received_at: t + 1234,
        event_type: i % 7 === 0 ? 2 : 1,
        event_name: i % 7 === 0 ? `signup-${i % 3}` : null,
        url_path: `/docs/page-${i % 13}`,
        url_query: i % 4 === 0 ? `q=${i}&lang=de` : null,
        page_title: i % 5 === 0 ? `Überblick ${i} — Floe 🚀` : `Page ${i}`,
        hostname: 'example.com',
        referrer_path: i % 3 === 0 ? '/search' : null,
        referrer_domain: i % 3 === 0 ? 'www.google.com' : null,
        utm_source: i % 6 === 0 ? 'newsletter' : null,
        utm_medium: i % 6 === 0 ? 'email' : null,
        utm_campaign: i % 6 === 0 ? `winter-${i % 2}` : null,
        gclid: i % 11 === 0 ? `gclid-${i}` : null,
        tag: i % 9 === 0 ? 'beta' : null,
        distinct_id: i % 8 === 0 ? `user-${writer}-${i}` : null,
        browser: ['chrome', 'firefox', 'safari'][i % 3],
        os: ['Mac OS', 'Windows 10', 'Linux'][i % 3],
        device: i % 2 === 0 ? 'desktop' : 'mobile',
        screen: '1920x1080',
        language: 'de-DE',
        country: 'DE',
        region: 'DE-BE',
        city: 'Berlin',
        event_data:
          i % 7 === 0 ? { plan: 'pro', seats: String(i % 5), ключ: 'значение' } : i % 7 === 1 ? {} : null,
        campaign_id: i % 4 === 1 ? `cmp-${i % 3}` : null,
        source: i % 2 === 0 ? 'umami' : 'v1',
        sample_rate: i % 5 === 2 ? 0.125 * (1 + (i % 8)) : null,
      }),
    )
  }
  return rows
}

export function sampleSessions(count: number, writer = 0, start = 0): SessionRow[] {
  const rows: SessionRow[] = []
  for (let k = 0; k < count; k++) {
    const i = start + k
    const t = T0 + i * 3_000_007 + writer
    rows.push(
      sessionRow({
        session_id: sampleUuid(writer + 1000, i),
        site_id: SITES[i % SITES.length],
        created_at: t,
        updated_at: t + 60_000_001,
        browser: 'chrome',
        os: i % 2 ? 'Linux' : null,
        device: 'desktop',
        language: 'en-US',
        country: i % 3 ? 'US' : null,
        session_data: i % 2 ? { ab: `variant-${i % 3}` } : null,
      }),
    )
  }
  return rows
}

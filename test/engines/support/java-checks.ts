/**
 * Comparisons shared by the Iceberg Java tests: Java's scanned rows against what the test sent,
 * and against icebird's independent scan of the same table.
 */
import { expect } from 'vitest'
import type { ExpectedEvent } from './floe-fixture.ts'

const DAY_MICROS = 86_400_000_000

/** The columns the sender controls, checked value by value (enriched columns are checked against icebird). */
export function expectEventsEqual(rows: Record<string, unknown>[], expected: ExpectedEvent[]): void {
  const byMarker = new Map<string, Record<string, unknown>>()
  for (const r of rows) {
    const marker = String(r.url_path).replace(/^\/m\//, '')
    expect(byMarker.has(marker), `event ${marker} returned twice`).toBe(false)
    byMarker.set(marker, r)
  }
  expect([...byMarker.keys()].sort()).toEqual(expected.map((e) => e.marker).sort())
  for (const e of expected) {
    const r = byMarker.get(e.marker)!
    expect(
      {
        site_id: r.site_id,
        event_time: r.event_time,
        event_type: r.event_type,
        event_name: r.event_name,
        page_title: r.page_title,
        hostname: r.hostname,
        tag: r.tag,
        distinct_id: r.distinct_id,
        language: r.language,
        screen: r.screen,
        event_data: r.event_data,
        day: new Date(Math.floor(Number(r.event_time) / DAY_MICROS) * 86_400_000).toISOString().slice(0, 10),
      },
      `event ${e.marker}`,
    ).toEqual({
      site_id: e.site_id,
      event_time: e.event_time,
      event_type: e.event_type,
      event_name: e.event_name,
      page_title: e.page_title,
      hostname: e.hostname,
      tag: e.tag,
      distinct_id: e.distinct_id,
      language: e.language,
      screen: e.screen,
      event_data: e.event_data,
      day: e.day,
    })
    // Enriched from the request, never null here.
    expect(typeof r.event_id).toBe('string')
    expect(typeof r.received_at).toBe('number')
  }
}

/** icebird's values in Java's JSON shape: timestamps as epoch microseconds, maps as objects. */
function normalize(v: unknown): unknown {
  if (v === undefined || v === null) return null
  if (v instanceof Date) return v.getTime() * 1000
  if (typeof v === 'bigint') return Number(v)
  if (Array.isArray(v)) {
    // A map read as [{key, value}] entries.
    return Object.fromEntries(v.map((e: { key: string; value: unknown }) => [e.key, normalize(e.value)]))
  }
  if (v instanceof Map) return Object.fromEntries([...v].map(([k, x]) => [k, normalize(x)]))
  if (typeof v === 'object') return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, normalize(x)]))
  return v
}

/** Every row of Java's scan equals icebird's row, all columns (order-insensitive). */
export async function expectRowsEqualIcebird(
  java: Record<string, unknown>[],
  icebird: Record<string, unknown>[],
): Promise<void> {
  const key = (r: Record<string, unknown>) =>
    JSON.stringify(
      Object.keys(r)
        .sort()
        .map((k) => [k, r[k]]),
    )
  const a = java.map((r) => key(normalize(r) as Record<string, unknown>)).sort()
  const b = icebird.map((r) => key(normalize(r) as Record<string, unknown>)).sort()
  expect(a).toEqual(b)
}

/** Data files a filter must keep: one per flush that wrote to a matching (day, site) partition. */
export function fileCounts(flushed: Set<string>[], day?: string, site?: string): number {
  let n = 0
  for (const partitions of flushed)
    for (const p of partitions) {
      const [d, s] = p.split('|')
      if ((!day || d === day) && (!site || s === site)) n++
    }
  return n
}

/**
 * Files Java writes through HadoopFileIO are named `file:/abs/path` (one slash, Hadoop's form) in
 * the metadata; icebird fetches every location, and the read-back shim serves only `file://` URLs.
 * This wraps the installed fetch to rewrite the Hadoop form to `file:///abs/path`.
 */
export function acceptHadoopFileUrls(): void {
  const inner = globalThis.fetch
  globalThis.fetch = ((input: string | URL | Request, init?: RequestInit) => {
    const url = typeof input === 'string' ? input : input instanceof URL ? input.href : input.url
    if (/^file:\/[^/]/.test(url)) return inner(`file://${url.slice('file:'.length)}`, init)
    return inner(input, init)
  }) as typeof fetch
}

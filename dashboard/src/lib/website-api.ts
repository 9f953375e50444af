/**
 * Umami's website API as Floe serves it (docs/reporting.md), typed as Umami's own client reads it.
 * The dashboard calls nothing else for numbers, so what it shows is what any Umami client gets.
 */
import type { Api, Params } from './api.ts'

export interface Stats {
  pageviews: number
  visitors: number
  visits: number
  bounces: number
  totaltime: number
}

export interface StatsWithComparison extends Stats {
  comparison: Stats
}

export interface Point {
  x: string
  y: number
}

export interface PageviewSeries {
  pageviews: Point[]
  sessions: Point[]
  compare?: { pageviews: Point[]; sessions: Point[] }
}

export interface MetricRow {
  x: string | null
  y: number
}

export interface EventProperty {
  eventName: string
  propertyName: string
  dataType?: number
  total: number
}

export interface PropertyValue {
  value: string
  total: number
}

export interface Website {
  id: string
  name: string
  domain?: string | null
}

/** Query of every website-API call: range, unit, zone and Umami's filter parameters. */
export type Query = Params

const base = (siteId: string) => `/api/websites/${encodeURIComponent(siteId)}`

export const websiteApi = {
  stats: (api: Api, siteId: string, q: Query) => api.get<StatsWithComparison>(`${base(siteId)}/stats`, q),
  pageviews: (api: Api, siteId: string, q: Query) => api.get<PageviewSeries>(`${base(siteId)}/pageviews`, q),
  metrics: (api: Api, siteId: string, q: Query) => api.get<MetricRow[]>(`${base(siteId)}/metrics`, q),
  active: (api: Api, siteId: string) => api.get<{ visitors: number }>(`${base(siteId)}/active`),
  eventProperties: (api: Api, siteId: string, q: Query) =>
    api.get<EventProperty[]>(`${base(siteId)}/event-data/properties`, q),
  propertyValues: (api: Api, siteId: string, q: Query) =>
    api.get<PropertyValue[]>(`${base(siteId)}/event-data/values`, q),
  website: (api: Api, siteId: string) => api.get<Website>(base(siteId)),
}

/** Umami's share flow: a share link's id opens `{websiteId, token}`, the token read as a share token. */
export async function openShare(shareId: string): Promise<{ websiteId: string; token: string }> {
  const res = await fetch(`/api/share/${encodeURIComponent(shareId)}`, { credentials: 'omit' })
  const body = (await res.json().catch(() => undefined)) as
    { websiteId: string; token: string; error?: undefined } | { error?: { message?: string } } | undefined
  if (!res.ok || !body || !('websiteId' in body))
    throw new Error(
      (body as { error?: { message?: string } })?.error?.message ?? `${res.status} ${res.statusText}`,
    )
  return body
}

/**
 * Umami's filter parameters the site page offers (a clicked row adds `<type>=<value>`); the
 * metric types whose rows filter by another parameter are mapped here.
 */
export const FILTERS = [
  'path',
  'referrer',
  'title',
  'query',
  'hostname',
  'browser',
  'os',
  'device',
  'country',
  'region',
  'city',
  'language',
  'event',
  'utmSource',
  'utmMedium',
  'utmCampaign',
  'utmContent',
  'utmTerm',
] as const
export type FilterKey = (typeof FILTERS)[number]

export function filterFor(type: string): FilterKey | null {
  if (type === 'entry' || type === 'exit') return 'path'
  if (type === 'domain') return 'referrer'
  return (FILTERS as readonly string[]).includes(type) ? (type as FilterKey) : null
}

export const FILTER_LABELS: Record<FilterKey, string> = {
  path: 'Page',
  referrer: 'Referrer',
  title: 'Title',
  query: 'Query',
  hostname: 'Host',
  browser: 'Browser',
  os: 'OS',
  device: 'Device',
  country: 'Country',
  region: 'Region',
  city: 'City',
  language: 'Language',
  event: 'Event',
  utmSource: 'UTM source',
  utmMedium: 'UTM medium',
  utmCampaign: 'UTM campaign',
  utmContent: 'UTM content',
  utmTerm: 'UTM term',
}

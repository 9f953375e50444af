/**
 * Page URL, referrer and title columns as Umami v3 `send/route.ts` derives them: the
 * URL is resolved against `https://${hostname}` (so relative paths from old trackers work), the
 * path keeps the hash, the query stays raw, UTM and click ids are decoded search params, and the
 * referrer domain drops a leading `www.`. Lengths are Umami's save-time truncations (500 for URL
 * parts and title); UTM/click ids are cut at 255 where Umami's varchar(255) would fail the insert.
 * Empty strings become null.
 */
import { ValidationError } from '../errors.ts'
import { truncate } from './truncate.ts'
import { LastCall } from './last-call.ts'

export const URL_LENGTH = 500
export const PAGE_TITLE_LENGTH = 500
export const PARAM_LENGTH = 255

const UTM = ['utm_source', 'utm_medium', 'utm_campaign', 'utm_content', 'utm_term'] as const
const CLICK_IDS = ['gclid', 'fbclid', 'msclkid', 'ttclid', 'li_fat_id', 'twclid'] as const
type ParamColumn = (typeof UTM)[number] | (typeof CLICK_IDS)[number]

export type UrlColumns = {
  url_path: string | null
  url_query: string | null
  hostname: string | null
  page_title: string | null
  referrer_path: string | null
  referrer_query: string | null
  referrer_domain: string | null
} & Record<ParamColumn, string | null>

function cut(v: string | null | undefined, max: number): string | null {
  if (v === null || v === undefined || v === '') return null
  return truncate(v, max)
}

function safeDecodeURI(v: string): string {
  try {
    return decodeURI(v)
  } catch {
    return v
  }
}

export function safeDecodeURIComponent(v: string): string {
  try {
    return decodeURIComponent(v)
  } catch {
    return v
  }
}

// The events of a batch name the same hostname: the check is the last one's (a failed check throws
// and is not remembered).
const lastBase = new LastCall<string>()

/** The base Umami resolves against; a hostname that makes no URL is a 400 naming the field. */
export function baseUrl(hostname: string | undefined): string {
  if (!hostname) return 'https://localhost'
  return lastBase.get([hostname], () => {
    const base = `https://${hostname}`
    if (!URL.canParse(base)) throw new ValidationError('payload.hostname', 'is not a valid host name')
    return base
  })
}

export interface PageInput {
  url?: string
  hostname?: string
  referrer?: string
  title?: string
  /** Performance rows keep the raw pathname only (no hash, no query), as Umami does. */
  pathOnly?: boolean
}

export function pageColumns(input: PageInput): UrlColumns {
  const base = baseUrl(input.hostname)
  let urlPath: string | null = null
  let urlQuery: string | null = null
  let urlDomain: string | null = null
  // Only a URL with a query string can hold UTM or click ids.
  let params: URLSearchParams | undefined
  if (input.url !== undefined && input.url !== '') {
    // validate.ts already checked `new URL(url, 'https://localhost')`; with a real host base it may
    // still fail, which is the hostname's fault.
    const u = new URL(input.url, base)
    // Performance rows: Umami keeps the raw pathname only (no hash, no query, not decoded).
    urlPath = cut(input.pathOnly ? u.pathname : safeDecodeURI(u.pathname + u.hash), URL_LENGTH)
    urlQuery = input.pathOnly ? null : cut(u.search.substring(1), URL_LENGTH)
    urlDomain = u.hostname.replace(/^www\./, '')
    if (u.search.length > 1) params = u.searchParams
  }
  const param = (p: ParamColumn) => (params ? cut(params.get(p), PARAM_LENGTH) : null)
  let referrerPath: string | null = null
  let referrerQuery: string | null = null
  let referrerDomain: string | null = null
  if (input.referrer) {
    const r = new URL(input.referrer, base)
    referrerPath = cut(safeDecodeURI(r.pathname), URL_LENGTH)
    referrerQuery = cut(r.search.substring(1), URL_LENGTH)
    referrerDomain = cut(r.hostname.replace(/^www\./, ''), URL_LENGTH)
  }
  // One literal, in the columns' order (the rows' key order follows it).
  return {
    url_path: urlPath,
    url_query: urlQuery,
    utm_source: param('utm_source'),
    utm_medium: param('utm_medium'),
    utm_campaign: param('utm_campaign'),
    utm_content: param('utm_content'),
    utm_term: param('utm_term'),
    gclid: param('gclid'),
    fbclid: param('fbclid'),
    msclkid: param('msclkid'),
    ttclid: param('ttclid'),
    li_fat_id: param('li_fat_id'),
    twclid: param('twclid'),
    referrer_path: referrerPath,
    referrer_query: referrerQuery,
    referrer_domain: referrerDomain,
    hostname: cut(input.hostname || urlDomain, 100),
    page_title: input.title ? cut(safeDecodeURIComponent(input.title), PAGE_TITLE_LENGTH) : null,
  }
}

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

/** The base Umami resolves against; a hostname that makes no URL is a 400 naming the field. */
export function baseUrl(hostname: string | undefined): string {
  if (!hostname) return 'https://localhost'
  const base = `https://${hostname}`
  if (!URL.canParse(base)) throw new ValidationError('payload.hostname', 'is not a valid host name')
  return base
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
  const out = {} as UrlColumns
  let urlDomain: string | null = null
  if (input.url !== undefined && input.url !== '') {
    // validate.ts already checked `new URL(url, 'https://localhost')`; with a real host base it may
    // still fail, which is the hostname's fault.
    const u = new URL(input.url, base)
    // Performance rows: Umami keeps the raw pathname only (no hash, no query, not decoded).
    out.url_path = cut(input.pathOnly ? u.pathname : safeDecodeURI(u.pathname + u.hash), URL_LENGTH)
    out.url_query = input.pathOnly ? null : cut(u.search.substring(1), URL_LENGTH)
    urlDomain = u.hostname.replace(/^www\./, '')
    for (const p of [...UTM, ...CLICK_IDS]) out[p] = cut(u.searchParams.get(p), PARAM_LENGTH)
  } else {
    out.url_path = null
    out.url_query = null
    for (const p of [...UTM, ...CLICK_IDS]) out[p] = null
  }
  if (input.referrer) {
    const r = new URL(input.referrer, base)
    out.referrer_path = cut(safeDecodeURI(r.pathname), URL_LENGTH)
    out.referrer_query = cut(r.search.substring(1), URL_LENGTH)
    out.referrer_domain = cut(r.hostname.replace(/^www\./, ''), URL_LENGTH)
  } else {
    out.referrer_path = out.referrer_query = out.referrer_domain = null
  }
  out.hostname = cut(input.hostname || urlDomain, 100)
  out.page_title = input.title ? cut(safeDecodeURIComponent(input.title), PAGE_TITLE_LENGTH) : null
  return out
}

/**
 * Geo location as Umami v3 `getLocation`: private, loopback and other non-public IPs
 * get no geo at all (CDN headers are ignored too); otherwise the first CDN whose country header is
 * present wins (Cloudflare, Vercel, CloudFront, EdgeOne), unless the payload carried its own `ip`;
 * otherwise the MaxMind-format database. Region becomes ISO 3166-2 (`US-CA`).
 */
import { isIP } from 'node:net'
import ipaddr from 'ipaddr.js'
import { LRUCache } from 'lru-cache'
import { headerValue, type Headers } from './ip.ts'

export interface GeoLocation {
  country: string | null
  region: string | null
  city: string | null
}

/** A City database lookup (see geo-reader.ts); returns the raw parts, not yet normalised. */
export interface GeoReader {
  lookup(ip: string): { country?: string; region?: string; city?: string } | null
}

const PROVIDERS = [
  ['cf-ipcountry', 'cf-region-code', 'cf-ipcity'],
  ['x-vercel-ip-country', 'x-vercel-ip-country-region', 'x-vercel-ip-city'],
  ['cloudfront-viewer-country', 'cloudfront-viewer-country-region', 'cloudfront-viewer-city'],
  ['eo-ipcountry', 'eo-region-code', 'eo-ipcity'],
] as const

/** Every CDN geo header Floe reads (country, region, city; never an address). */
export const GEO_HEADERS: readonly string[] = PROVIDERS.flat()

/** True only for globally routable unicast addresses (ipaddr.js range `unicast`). */
const publicIps = new LRUCache<string, boolean>({ max: 10_000 })

export function isPublicIp(ip: string | undefined): boolean {
  if (!ip) return false
  let pub = publicIps.get(ip)
  if (pub === undefined) {
    pub = isIP(ip) !== 0 && ipaddr.process(ip).range() === 'unicast'
    publicIps.set(ip, pub)
  }
  return pub
}

function decodeHeader(v: string | undefined): string | undefined {
  // Node reads header bytes as latin1; CDNs send UTF-8 (Umami re-decodes the same way).
  return v === undefined || v === '' ? undefined : Buffer.from(v, 'latin1').toString('utf8')
}

function safeDecodeURIComponent(v: string | undefined): string | null {
  if (v === undefined || v === '') return null
  try {
    return decodeURIComponent(v)
  } catch {
    return v
  }
}

/** Umami's getRegionCode: keep a value containing '-', else `${country}-${region}`. */
export function regionCode(country: string | undefined, region: string | undefined): string | undefined {
  if (!country || !region) return undefined
  return region.includes('-') ? region : `${country}-${region}`
}

export function geoFromHeaders(
  headers: Headers,
): { country?: string; region?: string; city?: string } | null {
  for (const [c, r, city] of PROVIDERS) {
    const country = decodeHeader(headerValue(headers, c))
    if (country)
      return {
        country,
        region: decodeHeader(headerValue(headers, r)),
        city: decodeHeader(headerValue(headers, city)),
      }
  }
  return null
}

export interface LocateOptions {
  /** payload.ip was given: the CDN headers describe the sender, not that IP. */
  skipHeaders: boolean
  reader: GeoReader | undefined
}

export function locate(ip: string | undefined, headers: Headers, opts: LocateOptions): GeoLocation | null {
  if (!isPublicIp(ip)) return null
  const raw = (!opts.skipHeaders && geoFromHeaders(headers)) || opts.reader?.lookup(ip!) || null
  if (!raw || !raw.country) return null
  return {
    country: safeDecodeURIComponent(raw.country),
    region: safeDecodeURIComponent(regionCode(raw.country, raw.region)),
    city: safeDecodeURIComponent(raw.city),
  }
}

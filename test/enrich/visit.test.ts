import { describe, expect, it } from 'vitest'
import { resolveVisit, startOfHourUtc, visitSalt } from '../../src/enrich/visit.ts'
import { hash, secretHash, umamiUuid } from '../../src/enrich/hash.ts'

const secret = secretHash('test-secret')
const S = 'd6d535f5-1f47-5b5d-92d7-d647bb032cb7'

describe('visit id', () => {
  it('without a token: uuid(sessionId, hash(startOfHour)) — shared by all events of the hour', () => {
    const at = new Date('2026-05-15T12:34:56Z')
    const v = resolveVisit({
      sessionId: S,
      createdAt: at,
      token: null,
      nowSeconds: at.getTime() / 1000,
      hasTimestamp: false,
      secret,
    })
    expect(v.visitId).toBe(umamiUuid(secret, S, hash('Fri, 15 May 2026 12:00:00 GMT')))
    const later = new Date('2026-05-15T12:59:59Z')
    expect(
      resolveVisit({
        sessionId: S,
        createdAt: later,
        token: null,
        nowSeconds: later.getTime() / 1000,
        hasTimestamp: false,
        secret,
      }).visitId,
    ).toBe(v.visitId)
  })

  it('salt rolls over at the hour', () => {
    expect(startOfHourUtc(new Date('2026-05-15T12:59:59.999Z')).toISOString()).toBe(
      '2026-05-15T12:00:00.000Z',
    )
    expect(visitSalt(new Date('2026-05-15T12:59:59.999Z'))).not.toBe(
      visitSalt(new Date('2026-05-15T13:00:00Z')),
    )
  })

  it('keeps the token visit for 30 minutes after it started, then rolls over', () => {
    const start = Date.parse('2026-05-15T12:50:00Z') / 1000
    const token = { sessionId: S, visitId: 'old-visit', iat: start }
    const at = (s: number) => ({
      sessionId: S,
      createdAt: new Date(s * 1000),
      token,
      nowSeconds: s,
      hasTimestamp: false,
      secret,
    })
    expect(resolveVisit(at(start + 1800))).toEqual({ visitId: 'old-visit', iat: start })
    const rolled = resolveVisit(at(start + 1801))
    expect(rolled.iat).toBe(start + 1801)
    expect(rolled.visitId).toBe(umamiUuid(secret, S, hash('Fri, 15 May 2026 13:00:00 GMT')))
  })

  it('a payload timestamp disables the rollover (Umami)', () => {
    const token = { sessionId: S, visitId: 'old-visit', iat: 1 }
    const v = resolveVisit({
      sessionId: S,
      createdAt: new Date(),
      token,
      nowSeconds: 10_000,
      hasTimestamp: true,
      secret,
    })
    expect(v.visitId).toBe('old-visit')
  })
})

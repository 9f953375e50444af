import { createHmac } from 'node:crypto'
import { describe, expect, it } from 'vitest'
import { signCacheToken, verifyCacheToken } from '../../src/enrich/cache-token.ts'
import { secretHash } from '../../src/enrich/hash.ts'

const secret = secretHash('test-secret')
const claims = {
  websiteId: '11111111-1111-4111-8111-111111111111',
  sessionId: 's',
  visitId: 'v',
  iat: 1778848496,
}

describe('x-umami-cache token', () => {
  it('is an HS256 JWT keyed with the sha512 hex of APP_SECRET, claims in jsonwebtoken order', () => {
    const t = signCacheToken(claims, secret)
    const [h, p, s] = t.split('.')
    expect(JSON.parse(Buffer.from(h, 'base64url').toString())).toEqual({ alg: 'HS256', typ: 'JWT' })
    expect(Buffer.from(p, 'base64url').toString()).toBe(JSON.stringify(claims))
    expect(s).toBe(createHmac('sha256', secret).update(`${h}.${p}`).digest('base64url'))
    expect(verifyCacheToken(t, secret)).toEqual(claims)
  })

  it('omits websiteId when undefined', () => {
    const t = signCacheToken({ sessionId: 's', visitId: 'v', iat: 1 }, secret)
    expect(Buffer.from(t.split('.')[1], 'base64url').toString()).toBe(
      '{"sessionId":"s","visitId":"v","iat":1}',
    )
  })

  it('ignores (null) anything invalid: other secret, tampering, alg none, junk, empty', () => {
    const t = signCacheToken(claims, secret)
    expect(verifyCacheToken(t, secretHash('other'))).toBeNull()
    const [h, , s] = t.split('.')
    const forged = Buffer.from(JSON.stringify({ ...claims, visitId: 'x' })).toString('base64url')
    expect(verifyCacheToken(`${h}.${forged}.${s}`, secret)).toBeNull()
    const none = Buffer.from('{"alg":"none"}').toString('base64url')
    expect(verifyCacheToken(`${none}.${t.split('.')[1]}.`, secret)).toBeNull()
    for (const junk of ['', 'a.b', 'a.b.c', '{"cache":"x"}', 'x'.repeat(5000), undefined])
      expect(verifyCacheToken(junk, secret)).toBeNull()
  })
})

import { describe, expect, it } from 'vitest'
import { clientIp, normalizeIp } from '../../src/enrich/ip.ts'

describe('client IP', () => {
  it("follows Umami v3's header order", () => {
    const h = { 'x-forwarded-for': '1.1.1.1', 'cf-connecting-ip': '2.2.2.2', 'x-real-ip': '3.3.3.3' }
    expect(clientIp(h, undefined, '9.9.9.9')).toBe('2.2.2.2')
    expect(clientIp({ 'x-real-ip': '3.3.3.3', 'x-forwarded-for': '1.1.1.1' }, undefined, undefined)).toBe(
      '3.3.3.3',
    )
    expect(
      clientIp({ 'true-client-ip': '4.4.4.4', 'cf-connecting-ip': '2.2.2.2' }, undefined, undefined),
    ).toBe('4.4.4.4')
  })

  it('x-forwarded-for takes the first entry; forwarded parses for=', () => {
    expect(clientIp({ 'x-forwarded-for': ' 203.0.113.5 , 10.0.0.1' }, undefined, undefined)).toBe(
      '203.0.113.5',
    )
    expect(clientIp({ forwarded: 'for="[2001:db8::1]:4711";proto=https' }, undefined, undefined)).toBe(
      '2001:db8::1',
    )
    expect(clientIp({ forwarded: 'for=192.0.2.60;proto=http' }, undefined, undefined)).toBe('192.0.2.60')
  })

  it('CLIENT_IP_HEADER wins when present, else the list applies', () => {
    const h = { 'x-my-ip': '5.5.5.5', 'cf-connecting-ip': '2.2.2.2' }
    expect(clientIp(h, 'x-my-ip', undefined)).toBe('5.5.5.5')
    expect(clientIp({ 'cf-connecting-ip': '2.2.2.2' }, 'x-my-ip', undefined)).toBe('2.2.2.2')
  })

  it('falls back to the socket address', () => {
    expect(clientIp({}, undefined, '::ffff:127.0.0.1')).toBe('127.0.0.1')
    expect(clientIp({}, undefined, undefined)).toBeUndefined()
  })

  it('normalises IPv6, IPv4-mapped IPv6 and ports; keeps junk as-is', () => {
    expect(normalizeIp('::ffff:203.0.113.5')).toBe('203.0.113.5')
    expect(normalizeIp('::FFFF:CB00:7105')).toBe('203.0.113.5')
    expect(normalizeIp('2001:0DB8:0000:0000:0000:0000:0000:0001')).toBe('2001:db8::1')
    expect(normalizeIp('[2001:db8::1]:443')).toBe('2001:db8::1')
    expect(normalizeIp('203.0.113.5:8080')).toBe('203.0.113.5')
    expect(normalizeIp(' unknown ')).toBe('unknown')
    expect(normalizeIp('0x7f.1')).toBe('0x7f.1')
  })
})

/**
 * What a refused event keeps in `pa_rejected`: never an IP address (payload strings in any form,
 * `context.ip`, IP-holding or forwarding headers, the message), never a credential header.
 */
import { describe, expect, it } from 'vitest'
import { looksLikeIp, rejectedRow, storableHeaders, storablePayload } from '../../src/enrich/rejected.ts'

describe('the dead-letter row', () => {
  it('recognises addresses in the forms headers and payloads carry them', () => {
    for (const ip of [
      '81.2.69.142',
      '81.2.69.142:443',
      '2001:db8::1',
      '[2001:db8::1]:443',
      '"::1"',
      'fe80::1%eth0',
    ])
      expect(looksLikeIp(ip), ip).toBe(true)
    for (const s of ['example.com', '1.2.3', 'a:b', '12:30', '', 'v1.2.3.4-beta'])
      expect(looksLikeIp(s), s).toBe(false)
  })

  it('removes every IP from the payload, wherever it sits, and context.ip whatever it holds', () => {
    const raw = {
      event_id: 'e1',
      context: { ip: 'not-an-ip-but-removed', page: { url: 'https://example.com/' } },
      data: {
        relay: '81.2.69.142',
        nested: { v6: '[2001:db8::1]:443', keep: 'x' },
        list: ['10.0.0.1', 'ok'],
      },
    }
    const stored = JSON.parse(storablePayload(raw))
    expect(stored).toEqual({
      event_id: 'e1',
      context: { page: { url: 'https://example.com/' } },
      data: { nested: { keep: 'x' }, list: ['ok'] },
    })
    // The input is not changed.
    expect(raw.data.relay).toBe('81.2.69.142')
  })

  it('a payload nested 40k levels deep is stored cut at 64 levels, without overflowing the stack', () => {
    let deep: unknown = 'leaf'
    for (let i = 0; i < 40_000; i++) deep = { a: deep }
    const stored = storablePayload({ payload: deep })
    expect(stored.length).toBeLessThan(1000)
    expect(stored).toContain('nested deeper than 64 levels')
  })

  it('keeps only the allowlisted headers, and none holding an IP', () => {
    const headers = storableHeaders({
      'user-agent': 'Mozilla/5.0',
      'accept-language': 'de-DE',
      'cf-ipcountry': 'DE',
      'x-forwarded-for': '203.0.113.9',
      forwarded: 'for=203.0.113.9',
      'x-real-ip': '203.0.113.9',
      authorization: 'Bearer floe_write_secret',
      'x-write-key': 'floe_write_secret',
      'x-floe-signature': 'sha256=abc',
      cookie: 'a=b',
      origin: '203.0.113.9',
    })
    expect(headers).toEqual({ 'user-agent': 'Mozilla/5.0', 'accept-language': 'de-DE', 'cf-ipcountry': 'DE' })
    expect(storableHeaders({ 'x-forwarded-for': '1.2.3.4' })).toBeNull()
  })

  it('builds the row: reason, field, received time in µs, no IP in the message or event id', () => {
    const row = rejectedRow({
      siteId: 's',
      receivedAt: 1_796_000_000_123,
      endpoint: '/v1/events',
      reason: 'invalid',
      field: 'events.0.context.ip',
      message: 'events.0.context.ip: "81.2.69.142:99" is not allowed',
      eventId: '10.1.1.1',
      raw: { context: { ip: '81.2.69.142' } },
      headers: { 'user-agent': 'UA' },
    })
    expect(row).toMatchObject({
      site_id: 's',
      received_at: 1_796_000_000_123_000,
      endpoint: '/v1/events',
      reason: 'invalid',
      field: 'events.0.context.ip',
      message: 'events.0.context.ip: "[ip removed]" is not allowed',
      event_id: null,
      payload: '{"context":{}}',
      headers: { 'user-agent': 'UA' },
    })
    expect(row.rejected_id).toMatch(/^[0-9a-f-]{36}$/)
  })
})

import { describe, expect, it } from 'vitest'
import { validateSendBody } from '../../src/enrich/validate.ts'
import { ValidationError } from '../../src/errors.ts'

const SITE = '11111111-1111-4111-8111-111111111111'
const fieldOf = (body: unknown): string => {
  try {
    validateSendBody(body)
  } catch (e) {
    expect(e).toBeInstanceOf(ValidationError)
    return (e as ValidationError).field
  }
  throw new Error('expected a ValidationError')
}

describe('validateSendBody', () => {
  it('accepts a tracker body, lower-cases the id and drops unknown keys', () => {
    const out = validateSendBody({
      type: 'event',
      payload: { website: SITE.toUpperCase(), url: '/', duration: 5, screen: '1440x900' },
      extra: 1,
    })
    expect(out).toEqual({ type: 'event', payload: { website: SITE, url: '/', screen: '1440x900' } })
  })

  it('names the field for missing or wrong body parts', () => {
    expect(fieldOf(undefined)).toBe('body')
    expect(fieldOf([])).toBe('body')
    expect(fieldOf({ payload: { website: SITE } })).toBe('type')
    expect(fieldOf({ type: 'pageview', payload: { website: SITE } })).toBe('type')
    expect(fieldOf({ type: 'event' })).toBe('payload')
    expect(fieldOf({ type: 'event', payload: 'x' })).toBe('payload')
  })

  it('zod v4 uuid rules; exactly one of website/link/pixel', () => {
    expect(fieldOf({ type: 'event', payload: { website: '12345678-1234-1234-1234-123456789012' } })).toBe(
      'payload.website',
    )
    expect(fieldOf({ type: 'event', payload: {} })).toBe('payload.website')
    expect(fieldOf({ type: 'event', payload: { website: SITE, link: SITE } })).toBe('payload.website')
    expect(fieldOf({ type: 'event', payload: { pixel: 'x' } })).toBe('payload.pixel')
    expect(
      validateSendBody({ type: 'event', payload: { website: '00000000-0000-0000-0000-000000000000' } })
        .payload.website,
    ).toBeDefined()
  })

  it("Umami's length limits", () => {
    const over = { hostname: 101, language: 36, screen: 12, name: 51, tag: 51, id: 51 }
    for (const [k, n] of Object.entries(over))
      expect(fieldOf({ type: 'event', payload: { website: SITE, [k]: 'x'.repeat(n) } })).toBe(`payload.${k}`)
    expect(
      validateSendBody({ type: 'event', payload: { website: SITE, name: 'x'.repeat(50) } }).payload.name,
    ).toHaveLength(50)
  })

  it('wrong types name the field', () => {
    for (const k of ['hostname', 'title', 'url', 'referrer', 'ip', 'userAgent', 'id', 'browser'])
      expect(fieldOf({ type: 'event', payload: { website: SITE, [k]: 5 } })).toBe(`payload.${k}`)
    expect(fieldOf({ type: 'event', payload: { website: SITE, data: [1] } })).toBe('payload.data')
    expect(fieldOf({ type: 'event', payload: { website: SITE, data: 'x' } })).toBe('payload.data')
  })

  it('url/referrer must parse against https://localhost (relative paths and "" pass)', () => {
    expect(
      validateSendBody({ type: 'event', payload: { website: SITE, url: 'a/b', referrer: '' } }).payload.url,
    ).toBe('a/b')
    expect(fieldOf({ type: 'event', payload: { website: SITE, url: 'http://[::1' } })).toBe('payload.url')
    expect(fieldOf({ type: 'event', payload: { website: SITE, referrer: 'https://exa mple.com' } })).toBe(
      'payload.referrer',
    )
  })

  it('timestamp is coerced to an integer number of seconds', () => {
    expect(
      validateSendBody({ type: 'event', payload: { website: SITE, timestamp: '1778848496' } }).payload
        .timestamp,
    ).toBe(1778848496)
    expect(fieldOf({ type: 'event', payload: { website: SITE, timestamp: 1.5 } })).toBe('payload.timestamp')
    expect(fieldOf({ type: 'event', payload: { website: SITE, timestamp: 'soon' } })).toBe(
      'payload.timestamp',
    )
    expect(fieldOf({ type: 'event', payload: { website: SITE, timestamp: 1e17 } })).toBe('payload.timestamp')
  })

  it('web vitals ranges', () => {
    expect(
      validateSendBody({ type: 'performance', payload: { website: SITE, lcp: 1200.5, cls: 0.1 } }).payload,
    ).toMatchObject({ lcp: 1200.5, cls: 0.1 })
    expect(fieldOf({ type: 'performance', payload: { website: SITE, lcp: 60001 } })).toBe('payload.lcp')
    expect(fieldOf({ type: 'performance', payload: { website: SITE, cls: -1 } })).toBe('payload.cls')
  })
})

import { describe, expect, it } from 'vitest'
import { cachedBotCheck, isBot, isIgnoredIp, parseIgnoreList } from '../../src/enrich/bot.ts'
import { ConfigError } from '../../src/errors.ts'

const CHROME =
  'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36'

describe('bots', () => {
  it('flags crawler, tool and headless UAs; not browsers, and not a missing UA (Umami)', () => {
    for (const ua of [
      'curl/8.0',
      'Googlebot/2.1 (+http://www.google.com/bot.html)',
      'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) HeadlessChrome/124.0.0.0 Safari/537.36',
      'python-requests/2.31',
    ])
      expect(isBot(ua, false)).toBe(true)
    expect(isBot(CHROME, false)).toBe(false)
    expect(isBot(undefined, false)).toBe(false)
    expect(isBot('', false)).toBe(false)
  })

  it('DISABLE_BOT_CHECK lets everything through', () => {
    expect(isBot('curl/8.0', true)).toBe(false)
    expect(cachedBotCheck(true)('curl/8.0')).toBe(false)
  })

  it('the cached check answers like isbot, repeatedly', () => {
    const check = cachedBotCheck(false, 2)
    for (let i = 0; i < 3; i++) {
      expect(check('curl/8.0')).toBe(true)
      expect(check(CHROME)).toBe(false)
      expect(check(undefined)).toBe(false)
      expect(check('Googlebot/2.1')).toBe(true)
    }
  })
})

describe('IGNORE_IP', () => {
  const list = parseIgnoreList(['203.0.113.5', '10.0.0.0/8', '2001:db8::/32'])
  it('matches exact IPs and CIDRs of the same family', () => {
    expect(isIgnoredIp('203.0.113.5', list)).toBe(true)
    expect(isIgnoredIp('203.0.113.6', list)).toBe(false)
    expect(isIgnoredIp('10.200.1.1', list)).toBe(true)
    expect(isIgnoredIp('2001:db8:1::9', list)).toBe(true)
    expect(isIgnoredIp('2001:db9::1', list)).toBe(false)
    expect(isIgnoredIp(undefined, list)).toBe(false)
    expect(isIgnoredIp('garbage', list)).toBe(false)
  })
  it('IPv4-mapped IPv6 entries and addresses compare as IPv4', () => {
    expect(isIgnoredIp('::ffff:10.1.2.3', list)).toBe(true)
    expect(isIgnoredIp('198.51.100.1', parseIgnoreList(['::ffff:198.51.100.1']))).toBe(true)
  })
  it('an invalid entry stops start-up naming IGNORE_IP', () => {
    expect(() => parseIgnoreList(['10.0.0.0/99'])).toThrow(ConfigError)
    expect(() => parseIgnoreList(['nope'])).toThrow(/IGNORE_IP/)
  })
})

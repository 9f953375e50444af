import { describe, expect, it } from 'vitest'
import { cachedUserAgentParser, deviceFor, parseUserAgent } from '../../src/enrich/client-info.ts'

const CHROME =
  'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36'
const IPHONE =
  'Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.0 Mobile/15E148 Safari/604.1'
const IPAD =
  'Mozilla/5.0 (iPad; CPU OS 16_6 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/16.6 Mobile/15E148 Safari/604.1'
const FIREFOX_MAC = 'Mozilla/5.0 (Macintosh; Intel Mac OS X 14.4; rv:125.0) Gecko/20100101 Firefox/125.0'

describe('client info', () => {
  it("browser and OS as Umami stores them (detect-browser's ids), device type from ua-parser-js", () => {
    expect(parseUserAgent(CHROME)).toEqual({ browser: 'chrome', os: 'Windows 10', deviceType: null })
    expect(parseUserAgent(IPHONE)).toEqual({ browser: 'ios', os: 'iOS', deviceType: 'mobile' })
    expect(parseUserAgent(IPAD)).toEqual({ browser: 'ios', os: 'iOS', deviceType: 'tablet' })
    expect(parseUserAgent(FIREFOX_MAC)).toEqual({ browser: 'firefox', os: 'Mac OS', deviceType: null })
    const EDGE = `${CHROME} Edg/124.0.0.0`
    const ANDROID_CHROME =
      'Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Mobile Safari/537.36'
    expect(parseUserAgent(EDGE).browser).toBe('edge-chromium')
    expect(parseUserAgent(ANDROID_CHROME)).toEqual({
      browser: 'chrome',
      os: 'Android OS',
      deviceType: 'mobile',
    })
    expect(parseUserAgent(undefined)).toEqual({ browser: null, os: null, deviceType: null })
    expect(parseUserAgent('???')).toEqual({ browser: null, os: null, deviceType: null })
  })

  it("Umami's device rule: iPhone mobile, iPad tablet, desktop ≤1920 wide is a laptop", () => {
    expect(deviceFor(parseUserAgent(IPHONE).deviceType, '390x844')).toBe('mobile')
    expect(deviceFor(parseUserAgent(IPAD).deviceType, '820x1180')).toBe('tablet')
    expect(deviceFor(null, '1440x900')).toBe('laptop')
    expect(deviceFor(null, '1920x1080')).toBe('laptop')
    expect(deviceFor(null, '2560x1440')).toBe('desktop')
    expect(deviceFor(null, undefined)).toBe('desktop')
    expect(deviceFor(null, 'abc')).toBe('desktop')
  })

  it('the cached parser answers the same and reuses results', () => {
    const parse = cachedUserAgentParser(2)
    const a = parse(CHROME)
    expect(parse(CHROME)).toBe(a)
    expect(a).toEqual(parseUserAgent(CHROME))
    parse(IPHONE)
    parse(IPAD) // evicts CHROME (max 2)
    expect(parse(CHROME)).not.toBe(a)
    expect(parse(CHROME)).toEqual(a)
  })
})

/**
 * Browser, OS and device from the User-Agent exactly as Umami v3's `getClientInfo` does
 * (Umami v3), so the columns hold the same values Umami stores:
 * - browser and OS from detect-browser (`browserName`, `detectOS`): `chrome`, `ios`,
 *   `edge-chromium`, …; `Windows 10`, `Mac OS`, `Android OS`, …;
 * - device type from ua-parser-js 2 plus Umami's rule (`deviceFor`): `type = device.type ||
 *   'desktop'`, and a desktop whose screen is at most 1920 pixels wide counts as a `laptop`.
 *
 * Parsing costs ~82 µs (ua-parser-js, measured), more than the whole rest of the pipeline,
 * while real traffic repeats a small set of UA strings: results are kept in a bounded LRU keyed by
 * the UA string.
 */
import { browserName, detectOS } from 'detect-browser'
import { UAParser } from 'ua-parser-js'
import { LRUCache } from 'lru-cache'

export interface UserAgentInfo {
  /** detect-browser's browser id (`chrome`, `firefox`, `ios`, `crios`, `samsung`, …) or null. */
  browser: string | null
  /** detect-browser's OS name (`Windows 10`, `Mac OS`, `Linux`, `iOS`, `Android OS`, …) or null. */
  os: string | null
  /** ua-parser-js device type (mobile, tablet, console, smarttv, wearable, xr, embedded) or null. */
  deviceType: string | null
}

const EMPTY: UserAgentInfo = { browser: null, os: null, deviceType: null }

export function parseUserAgent(userAgent: string | undefined): UserAgentInfo {
  if (!userAgent) return EMPTY
  return {
    browser: browserName(userAgent) ?? null,
    os: detectOS(userAgent) ?? null,
    deviceType: new UAParser(userAgent).getDevice().type ?? null,
  }
}

export type UserAgentParser = (userAgent: string | undefined) => UserAgentInfo

/** `parseUserAgent` behind an LRU of `max` distinct UA strings. */
export function cachedUserAgentParser(max = 5000): UserAgentParser {
  const cache = new LRUCache<string, UserAgentInfo>({ max })
  return (userAgent) => {
    if (!userAgent) return EMPTY
    let info = cache.get(userAgent)
    if (info === undefined) {
      info = parseUserAgent(userAgent)
      cache.set(userAgent, info)
    }
    return info
  }
}

/** Umami's `getDevice`: the desktop/laptop split uses the screen width (`+screen.split('x')[0]`). */
export function deviceFor(deviceType: string | null, screen: string | undefined): string {
  const type = deviceType || 'desktop'
  if (type === 'desktop' && screen && +screen.split('x')[0] <= 1920) return 'laptop'
  return type
}

/**
 * Browser, OS and device from the User-Agent with ua-parser-js 2, plus Umami's device rule
 * (umami.md §4): `type = device.type || 'desktop'`, and a desktop whose screen is at most 1920
 * pixels wide counts as a `laptop`. Browser/OS are ua-parser-js names (`Chrome`, `Mobile Safari`,
 * `Windows`, `iOS`); Umami v3 uses detect-browser's lowercase ids there (a documented difference).
 *
 * Parsing costs ~82 µs (libraries.md), more than the whole rest of the pipeline, while real traffic
 * repeats a small set of UA strings: results are kept in a bounded LRU keyed by the UA string.
 */
import { UAParser } from 'ua-parser-js'
import { LRUCache } from 'lru-cache'

export interface UserAgentInfo {
  browser: string | null
  os: string | null
  /** ua-parser-js device type (mobile, tablet, console, smarttv, wearable, xr, embedded) or null. */
  deviceType: string | null
}

const EMPTY: UserAgentInfo = { browser: null, os: null, deviceType: null }

export function parseUserAgent(userAgent: string | undefined): UserAgentInfo {
  if (!userAgent) return EMPTY
  const r = new UAParser(userAgent).getResult()
  return { browser: r.browser.name ?? null, os: r.os.name ?? null, deviceType: r.device.type ?? null }
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

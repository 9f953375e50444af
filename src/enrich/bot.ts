/**
 * Bot and ignored-IP filtering (Umami v3): `isbot` on the effective User-Agent unless
 * DISABLE_BOT_CHECK; IGNORE_IP entries are exact IPs or CIDRs (ipaddr.js, same family only).
 */
import { isbot } from 'isbot'
import { LRUCache } from 'lru-cache'
import { isIP } from 'node:net'
import ipaddr from 'ipaddr.js'
import { ConfigError } from '../errors.ts'

export function isBot(userAgent: string | undefined, disableBotCheck: boolean): boolean {
  return !disableBotCheck && isbot(userAgent ?? null)
}

/**
 * `isBot` behind an LRU keyed by the UA string: isbot's one big regex costs ~2 µs, and real traffic
 * repeats a small set of UAs (see client-info.ts).
 */
export function cachedBotCheck(
  disableBotCheck: boolean,
  max = 5000,
): (userAgent: string | undefined) => boolean {
  if (disableBotCheck) return () => false
  const cache = new LRUCache<string, boolean>({ max })
  return (userAgent) => {
    if (!userAgent) return false
    let bot = cache.get(userAgent)
    if (bot === undefined) {
      bot = isbot(userAgent)
      cache.set(userAgent, bot)
    }
    return bot
  }
}

type Range = [ipaddr.IPv4 | ipaddr.IPv6, number]

export interface IgnoreList {
  readonly ranges: readonly Range[]
}

/** Parses IGNORE_IP once at start; an invalid entry stops start-up naming the variable. */
export function parseIgnoreList(entries: readonly string[]): IgnoreList {
  const ranges: Range[] = entries.map((entry) => {
    try {
      if (entry.includes('/')) return ipaddr.parseCIDR(entry)
      const addr = ipaddr.process(entry)
      return [addr, addr.kind() === 'ipv4' ? 32 : 128]
    } catch {
      throw new ConfigError('IGNORE_IP', `"${entry}" is neither an IP address nor a CIDR range`)
    }
  })
  return { ranges }
}

export function isIgnoredIp(ip: string | undefined, list: IgnoreList): boolean {
  if (!ip || list.ranges.length === 0 || isIP(ip) === 0) return false
  const addr = ipaddr.process(ip)
  return list.ranges.some(([range, bits]) => range.kind() === addr.kind() && addr.match(range, bits))
}
